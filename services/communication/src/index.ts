export { buildApp, migrate } from './app.js';
export { configShape } from './config.js';
