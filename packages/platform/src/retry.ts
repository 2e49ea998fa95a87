import { setTimeout as sleep } from 'node:timers/promises';

/** How to retry: attempts in total, first delay, cap, and a hook called before each wait. */
export interface RetryOptions {
  attempts: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Return false to stop retrying an error that cannot succeed later. */
  retryIf?: (error: unknown) => boolean;
}

/** Delay before retry number `attempt` (1-based): exponential with full jitter, capped. */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Runs `fn` until it resolves or the attempts run out; throws the last error. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.attempts || options.retryIf?.(error) === false || options.signal?.aborted) {
        throw error;
      }
      const delay = backoffDelay(attempt, initial, max);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
