// The error classes live in @dlr/core (no I/O), so domain code can have them without platform; platform's own
// modules take them from here.
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
} from '@dlr/core';
