import { defineConfig } from 'vitest/config';

const conditions = ['source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    globalSetup: ['../packages/testing/src/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
