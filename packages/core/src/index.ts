// Public entry point of @dlr/core: the typed errors every edge maps in one place, the Logger interface,
// and redactUrl for server URLs in logs.
// No dependencies and no I/O, so domain code can use them without loading MongoDB, NATS, HTTP or telemetry.
export {
  AppError,
  ConfigError,
  FailedPreconditionError,
  InvalidArgumentError,
  isRetryable,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  type ErrorCode,
} from './errors.js';
export type { LogFn, Logger } from './logger.js';
export { redactUrl } from './redact.js';
