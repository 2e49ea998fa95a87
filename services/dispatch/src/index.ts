export { buildApp, migrate, type Config } from './app.js';
export { configShape } from './config.js';
export { attemptId, dispatchEventId, type AttemptDoc, type NotSentReason } from './domain/attempt.js';
export { SEND_INTERRUPTED_TEXT } from './domain/dispatcher.js';
