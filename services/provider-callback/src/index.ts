export { buildApp, migrate, CALLBACK_BODY_LIMIT } from './app.js';
export { configShape, type CallbackConfig } from './config.js';
