export { buildApp, migrate } from './app.js';
export { configShape, type FeedbackConfig } from './config.js';
