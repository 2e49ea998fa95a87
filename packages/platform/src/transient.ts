import { AppError } from './errors.js';

// Errors by class name, so this module needs neither the mongodb driver nor nats.js loaded.
const TRANSIENT_NAMES = new Set([
  // mongodb driver
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoOperationTimeoutError',
  'MongoWaitQueueTimeoutError',
  // nats.js
  'TimeoutError',
  'ConnectionError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'NoRespondersError',
  'RequestError',
  'JetStreamNotEnabled',
]);
const TRANSIENT_LABELS = ['RetryableWriteError', 'ResetPool', 'NetworkError', 'PoolRequestedRetry'];
// Server codes that mean "not now": host unreachable/not found, network timeout, shutdown in progress,
// stepped down, exceeded time limit, MaxTimeMSExpired, socket exception, not primary, interrupted.
const TRANSIENT_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * Whether an error means a dependency (MongoDB, NATS, a peer) is down or slow rather than that the
 * work itself is wrong: retry it for as long as the outage lasts, never count it toward
 * dead-lettering. Follows `cause` chains.
 */
export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof AppError) return e.code === 'unavailable';
    if (typeof e !== 'object') return false;
    const err = e as { name?: unknown; code?: unknown; hasErrorLabel?: unknown; cause?: unknown };
    if (typeof err.name === 'string' && TRANSIENT_NAMES.has(err.name)) return true;
    if (typeof err.code === 'number' && TRANSIENT_CODES.has(err.code)) return true;
    if (typeof err.hasErrorLabel === 'function') {
      const has = err.hasErrorLabel as (label: string) => boolean;
      if (TRANSIENT_LABELS.some((label) => has.call(e, label))) return true;
    }
    e = err.cause;
  }
  return false;
}
