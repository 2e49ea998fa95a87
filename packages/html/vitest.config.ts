import { testConfig } from '../../vitest.shared.js';

export default testConfig({ dir: import.meta.dirname, infra: false });
