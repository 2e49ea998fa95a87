import { testConfig } from '../vitest.shared.js';

// The fault suite (issue 14): each file kills or freezes its own private NATS or store, or the
// services, and mostly waits out the outage, so two files run at once (logLevel warn, small systems).
export default testConfig(
  { dir: import.meta.dirname, infra: true, testTimeout: 1_200_000, resultsName: 'e2e-faults' },
  { include: ['test/faults-*.e2e.test.ts'], fileParallelism: true, maxWorkers: 2 },
);
