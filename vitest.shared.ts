// The one vitest configuration of the monorepo; each package's vitest.config.ts calls testConfig().
import { basename, join } from 'node:path';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

// Workspace packages export `"source": "./src/index.ts"`: resolve that before dist/ so tests run
// without a build. No 'module' condition on the server side: it would pick @opentelemetry/api's
// build/esm, whose extensionless imports Node cannot load.
const serverConditions = ['source', 'node', 'development|production'];
const clientConditions = ['source', 'module', 'browser', 'development|production'];

/** Options of {@link testConfig}. */
export interface TestConfigOptions {
  /** The package directory (pass `import.meta.dirname`). */
  dir: string;
  /** True when the tests need NATS + MongoDB (starts or finds them once per run). */
  infra: boolean;
  testTimeout?: number;
  /** Name of the JSON report under DLR_TEST_RESULTS (default: the directory's name). */
  resultsName?: string;
}

/**
 * A package's vitest config. When `DLR_TEST_RESULTS` is set (by scripts/run-tests.mjs), results
 * are also written as JSON there so the run can print one total at the end.
 */
export function testConfig(options: TestConfigOptions, test: NonNullable<ViteUserConfig['test']> = {}): ViteUserConfig {
  const results = process.env.DLR_TEST_RESULTS;
  return defineConfig({
    resolve: { conditions: clientConditions },
    ssr: { resolve: { conditions: serverConditions } },
    test: {
      ...(options.infra ? { globalSetup: [join(import.meta.dirname, 'packages/testing/src/global-setup.ts')] } : {}),
      testTimeout: options.testTimeout ?? 30_000,
      // The first run on a fresh machine builds nats-server and FerretDB with Go (minutes).
      hookTimeout: 600_000,
      reporters: results
        ? ['default', ['json', { outputFile: join(results, `${options.resultsName ?? basename(options.dir)}.json`) }]]
        : ['default'],
      ...test,
    },
  });
}
