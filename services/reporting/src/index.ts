// Public entry point of @dlr/reporting: what tests, scripts and the demo start it with.
export { buildApp, migrate, type Config } from './app.js';
export { configShape } from './config.js';
export { ROW_PROJECTION } from './adapters/mongo/records.js';
