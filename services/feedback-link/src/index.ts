export { buildApp, migrate, topology } from './app.js';
export { configShape, type FeedbackConfig } from './config.js';
