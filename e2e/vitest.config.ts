import { testConfig } from '../vitest.shared.js';

// One file at a time: each starts many processes (the whole system, or pruned builds) on 2 cores.
export default testConfig({ dir: import.meta.dirname, infra: true, testTimeout: 180_000 }, { fileParallelism: false });
