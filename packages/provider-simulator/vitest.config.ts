import { defineConfig } from 'vitest/config';

const conditions = ['source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  // No NATS or MongoDB here: the simulator and its tests use HTTP only, so no globalSetup.
  test: { testTimeout: 30_000, hookTimeout: 60_000 },
});
