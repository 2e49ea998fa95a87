import { defineConfig } from 'vitest/config';

// Workspace packages export `"source": "./src/index.ts"`; resolve that before dist/ so tests run without a build.
// No 'module' condition on the server side: it would pick @opentelemetry/api's `build/esm`, whose extensionless
// imports Node cannot load.
const serverConditions = ['source', 'node', 'development|production'];
const clientConditions = ['source', 'module', 'browser', 'development|production'];

export default defineConfig({
  resolve: { conditions: clientConditions },
  ssr: { resolve: { conditions: serverConditions } },
  test: {
    globalSetup: ['../../packages/testing/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
