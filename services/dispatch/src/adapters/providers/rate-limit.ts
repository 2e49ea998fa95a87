import { setTimeout as sleep } from 'node:timers/promises';
import type { OutboundMessage, Provider, SendOptions } from '../../domain/provider.js';

/**
 * A token bucket holding one token, refilled at `ratePerSecond`: calls are spaced at least
 * `1000 / ratePerSecond` ms apart, in the order they asked. Callers wait; nobody is refused.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  /** When the next token is free (monotonic ms). */
  private nextFreeAt = -Infinity;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new Error('the rate must be above 0');
    this.intervalMs = 1000 / ratePerSecond;
  }

  /** Takes the next token and returns how long to wait before using it (0 when it is free now). */
  reserve(): number {
    const now = this.now();
    const at = Math.max(now, this.nextFreeAt);
    this.nextFreeAt = at + this.intervalMs;
    return at - now;
  }
}

/** A {@link Provider} whose calls go through a {@link TokenBucket}; name and errors are the inner provider's. */
export class RateLimitedProvider implements Provider {
  readonly name: string;
  private readonly bucket: TokenBucket;

  constructor(
    private readonly inner: Provider,
    ratePerSecond: number,
  ) {
    this.name = inner.name;
    this.bucket = new TokenBucket(ratePerSecond);
  }

  /**
   * Waits for a token, then sends. The wait is bounded: at most DISPATCH_CONCURRENCY calls queue,
   * so it stays under concurrency / rate seconds.
   */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const waitMs = this.bucket.reserve();
    if (waitMs > 0) await sleep(waitMs);
    return this.inner.send(message, options);
  }
}

/** The provider, rate-limited when `ratePerSecond` is above 0. */
export function rateLimited(provider: Provider, ratePerSecond: number): Provider {
  return ratePerSecond > 0 ? new RateLimitedProvider(provider, ratePerSecond) : provider;
}
