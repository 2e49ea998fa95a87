import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'] } },
  test: { globalSetup: ['../../packages/testing/src/global-setup.ts'], testTimeout: 30_000, hookTimeout: 120_000 },
});
