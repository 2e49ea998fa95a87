import { defineConfig } from 'vitest/config';

// Workspace packages export `"source": "./src/index.ts"`; resolve that before dist/ so tests run without a build.
// Vite 8 (used by vitest 4) takes conditions per environment: tests run in the server ('ssr') environment, whose
// defaults are ['module', 'node', 'development|production']; the client defaults add 'browser'.
const serverConditions = ['source', 'module', 'node', 'development|production'];
const clientConditions = ['source', 'module', 'browser', 'development|production'];

export default defineConfig({
  resolve: { conditions: clientConditions },
  ssr: { resolve: { conditions: serverConditions } },
  test: {
    // First run on a fresh machine builds nats-server and FerretDB with `go` (minutes).
    testTimeout: 120_000,
    hookTimeout: 600_000,
    projects: [
      {
        extends: true,
        test: { name: 'infra', include: ['test/*.test.ts'] },
      },
      {
        // Checks the globalSetup that other packages use, by its package specifier, in both pools.
        extends: true,
        test: {
          name: 'global-setup-forks',
          include: ['test/global-setup/*.test.ts'],
          globalSetup: ['@dlr/testing/global-setup'],
          pool: 'forks',
        },
      },
      {
        extends: true,
        test: {
          name: 'global-setup-threads',
          include: ['test/global-setup/*.test.ts'],
          globalSetup: ['@dlr/testing/global-setup'],
          pool: 'threads',
        },
      },
    ],
  },
});
