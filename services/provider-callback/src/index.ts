export { buildApp, migrate, topology, CALLBACK_BODY_LIMIT } from './app.js';
export { configShape, type CallbackConfig } from './config.js';
