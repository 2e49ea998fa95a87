import { testConfig } from '../../vitest.shared.js';

// No NATS or MongoDB here: the simulator and its tests use HTTP only.
export default testConfig({ dir: import.meta.dirname, infra: false });
