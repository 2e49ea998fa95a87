/** Stable, machine-readable error codes shared by every edge (gRPC and HTTP map them in one place each). */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'failed_precondition'
  | 'unauthenticated'
  | 'permission_denied'
  | 'payload_too_large'
  | 'unavailable'
  | 'config_invalid'
  | 'internal';

/** Base class of every error we raise on purpose; `message` is safe to show to a caller. */
export class AppError extends Error {
  /** Stable code an edge maps to its status. */
  readonly code: ErrorCode;
  /** Per-field problems, for input validation errors. */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details ?? [];
  }
}

/** The caller sent something we cannot accept; nothing was changed. */
export class InvalidArgumentError extends AppError {
  constructor(message: string, details?: readonly string[]) {
    super('invalid_argument', message, details === undefined ? undefined : { details });
  }
}

/** The addressed entity does not exist. */
export class NotFoundError extends AppError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** The entity is not in a state that allows the operation (e.g. adding recipients after sending). */
export class FailedPreconditionError extends AppError {
  constructor(message: string) {
    super('failed_precondition', message);
  }
}

/** A signature or credential did not verify. */
export class UnauthenticatedError extends AppError {
  constructor(message: string) {
    super('unauthenticated', message);
  }
}

/** The caller is authenticated but its role does not allow this action; nothing was changed. */
export class PermissionDeniedError extends AppError {
  constructor(message: string) {
    super('permission_denied', message);
  }
}

/** A dependency (MongoDB, NATS, a provider) could not be reached. */
export class UnavailableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('unavailable', message, { cause });
  }
}

/** Configuration from the environment is invalid; `details` lists every bad variable. */
export class ConfigError extends AppError {
  constructor(details: readonly string[]) {
    super('config_invalid', `Invalid configuration:\n  - ${details.join('\n  - ')}`, { details });
  }
}

/** Returns true for errors that should be retried later rather than reported to the caller. */
export function isRetryable(error: unknown): boolean {
  return error instanceof AppError ? error.code === 'unavailable' : true;
}
