export { buildApp, migrate, topology } from './app.js';
export { configShape } from './config.js';
