import { testConfig } from '../../vitest.shared.js';

export default testConfig(
  // The first run on a fresh machine builds nats-server and FerretDB with `go` (minutes).
  { dir: import.meta.dirname, infra: false, testTimeout: 120_000 },
  {
    projects: [
      { extends: true, test: { name: 'infra', include: ['test/*.test.ts'] } },
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
);
