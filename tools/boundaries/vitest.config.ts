import { testConfig } from '../../vitest.shared.js';

// Type-aware linting of a few files: no servers, but a TypeScript program to build (slow on a busy machine).
export default testConfig({ dir: import.meta.dirname, infra: false, testTimeout: 300_000 });
