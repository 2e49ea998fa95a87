import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from '@nats-io/kv';
import { CallNotStartedError, type OutboundMessage, type Provider, type SendOptions } from '../../domain/provider.js';

/** Hands out the right to make one provider call. */
export interface RateLimiter {
  /**
   * Resolves true once a call may start, or false when none could within `withinMs` (nothing is
   * taken then). Throws when the limiter cannot be reached.
   */
  take(withinMs?: number): Promise<boolean>;
}

/**
 * A token bucket holding one token, refilled at `ratePerSecond`, for one process: calls are spaced
 * at least `1000 / ratePerSecond` ms apart, in the order they asked.
 */
export class TokenBucket implements RateLimiter {
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

  async take(withinMs = Infinity): Promise<boolean> {
    if (Math.max(this.now(), this.nextFreeAt) - this.now() > withinMs) return false;
    const waitMs = this.reserve();
    if (waitMs > 0) await sleep(waitMs);
    return true;
  }
}

/** The bucket's state as stored: tokens left at a time (ms since the epoch). */
interface BucketState {
  readonly tokens: number;
  readonly at: number;
}

/** Options of {@link SharedTokenBucket}. */
export interface SharedTokenBucketOptions {
  readonly kv: KV;
  /** The bucket's key, e.g. the provider's name: replicas using the same key share one budget. */
  readonly key: string;
  readonly ratePerSecond: number;
  /** Wall clock (ms since the epoch); replicas' clocks are assumed in sync (NTP). */
  readonly now?: () => number;
}

/**
 * A token bucket shared by every replica, kept in a NATS JetStream KV entry: `ratePerSecond` is the
 * budget of the whole deployment. A replica takes a slice of tokens at a time (1/20 s worth) with a
 * compare-and-set update of the entry, and spends them locally; the bucket holds at most 1/5 s worth,
 * so a deployment idle for a while bursts by no more than that.
 */
export class SharedTokenBucket implements RateLimiter {
  private readonly slice: number;
  private readonly capacity: number;
  private readonly now: () => number;
  /** Tokens this replica took and has not spent. */
  private local = 0;
  /** Takers are served one after the other, in the order they asked. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SharedTokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error('the rate must be above 0');
    this.slice = Math.max(1, Math.floor(options.ratePerSecond / 20));
    this.capacity = Math.max(this.slice, Math.ceil(options.ratePerSecond / 5));
    this.now = options.now ?? Date.now;
  }

  take(withinMs = Infinity): Promise<boolean> {
    const deadline = this.now() + withinMs;
    const mine = this.turn.then(() => this.takeOne(deadline));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async takeOne(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.local > 0) {
        this.local--;
        return true;
      }
      const waitMs = await this.grab();
      if (this.local > 0) continue;
      if (this.now() + waitMs > deadline) return false;
      await sleep(waitMs);
    }
  }

  /** Takes up to a slice from the shared bucket; 0, or how long until a token is there. */
  private async grab(): Promise<number> {
    const { kv, key, ratePerSecond } = this.options;
    for (;;) {
      const entry = await kv.get(key);
      const now = this.now();
      const stored = entry === null || entry.operation !== 'PUT' ? undefined : (entry.json<BucketState>() ?? undefined);
      const elapsed = stored === undefined ? Infinity : Math.max(0, now - stored.at);
      const tokens = Math.min(this.capacity, (stored?.tokens ?? 0) + (elapsed * ratePerSecond) / 1000);
      if (tokens < 1) return Math.ceil(((1 - tokens) * 1000) / ratePerSecond);
      const grant = Math.min(this.slice, Math.floor(tokens));
      const next = JSON.stringify({ tokens: tokens - grant, at: now } satisfies BucketState);
      try {
        if (entry === null) await kv.create(key, next);
        else await kv.update(key, next, entry.revision);
        this.local += grant;
        return 0;
      } catch (error) {
        // Another replica updated it first: read it again.
        if (!isWrongRevision(error)) throw error;
      }
    }
  }
}

/** True for the server's refusal of a compare-and-set whose revision is no longer the last. */
function isWrongRevision(error: unknown): boolean {
  const code = (error as { name?: unknown; code?: unknown } | null)?.code;
  return (error as { name?: unknown } | null)?.name === 'JetStreamApiError' && (code === 10071 || code === 10164);
}

/** A {@link Provider} whose calls each wait for a token of a {@link RateLimiter}; name and errors are the inner provider's. */
export class RateLimitedProvider implements Provider {
  readonly name: string;
  readonly idempotent: boolean | undefined;

  private readonly limiter: RateLimiter;

  /** `limiter`: a {@link RateLimiter}, or a rate per second for a {@link TokenBucket} of this process. */
  constructor(
    private readonly inner: Provider,
    limiter: RateLimiter | number,
  ) {
    this.limiter = typeof limiter === 'number' ? new TokenBucket(limiter) : limiter;
    this.name = inner.name;
    this.idempotent = inner.idempotent;
  }

  /**
   * Waits for a token, then sends. Throws {@link CallNotStartedError} when no token came within
   * `options.startWithinMs` or the limiter could not be reached: the provider never saw the message.
   */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    let ok: boolean;
    try {
      ok = await this.limiter.take(options?.startWithinMs);
    } catch (error) {
      throw new CallNotStartedError('the provider rate limiter could not be reached', { cause: error });
    }
    if (!ok) throw new CallNotStartedError('no provider rate-limit token within the time budget');
    if (options?.stillWanted?.() === false) throw new CallNotStartedError('the message is no longer wanted');
    return this.inner.send(message, options);
  }
}

/** Builds the rate limiter of a provider with a rate above 0. */
export type LimiterFactory = (providerName: string, ratePerSecond: number) => RateLimiter;

/** Each process on its own (tests, a single replica). */
export const localLimiters: LimiterFactory = (_name, rate) => new TokenBucket(rate);

/** The provider, rate-limited by `limiters` when `ratePerSecond` is above 0. */
export function rateLimited(
  provider: Provider,
  ratePerSecond: number,
  limiters: LimiterFactory = localLimiters,
): Provider {
  return ratePerSecond > 0 ? new RateLimitedProvider(provider, limiters(provider.name, ratePerSecond)) : provider;
}
