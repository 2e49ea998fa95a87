import { testConfig } from '../vitest.shared.js';

// One file at a time: each starts many processes (the whole system, or pruned builds) on 2 cores.
// The fault suite (test/faults-*.e2e.test.ts) runs after this one, by vitest.faults.config.ts.
export default testConfig(
  { dir: import.meta.dirname, infra: true, testTimeout: 180_000 },
  { fileParallelism: false, exclude: ['**/node_modules/**', 'test/faults-*.e2e.test.ts'] },
);
