// Live updates for the reports: one poller per watched communication, shared by its listeners.
import type { Logger } from '@dlr/core';
import { checkId, toView, type DeliveryRecordView, type ReportQueries } from './report-queries.js';
import type { CommunicationCounts } from './reads.js';

/** What a watcher tells its listeners on every change. */
export interface ChangeBatch {
  readonly communicationId: string;
  readonly counts: CommunicationCounts;
  /** Records that changed since the last batch (may repeat one seen before, never miss one). */
  readonly records: readonly DeliveryRecordView[];
}

/** A listener of a communication's changes. */
export type ChangeListener = (batch: ChangeBatch) => void;

/** How often watchers look at the store, and how far they look back (clock skew between writers). */
export interface WatchTiming {
  readonly intervalMs: number;
  /** Always re-read changed records this often, even when the counts did not move. */
  readonly fullCheckMs: number;
  readonly overlapMs: number;
}

const DEFAULT_TIMING: WatchTiming = { intervalMs: 1_000, fullCheckMs: 5_000, overlapMs: 2_000 };
const WATCH_BATCH = 500;

/**
 * Live updates for the reports: one poller per watched communication per process, shared by every
 * listener (SSE connections, gRPC streams). It polls the store — never this process's memory — so
 * it sees the writes of every reporting replica. Each tick reads the counters (by `_id`); when they
 * moved, or every `fullCheckMs`, it reads the records updated since the last look (minus an overlap
 * for writers' clock skew) and passes on the ones not passed on before.
 */
export class ChangeWatcher {
  readonly #queries: ReportQueries;
  readonly #logger: Logger;
  readonly #timing: WatchTiming;
  readonly #polls = new Map<string, Poll>();

  constructor(queries: ReportQueries, logger: Logger, timing: Partial<WatchTiming> = {}) {
    this.#queries = queries;
    this.#logger = logger;
    this.#timing = { ...DEFAULT_TIMING, ...timing };
  }

  /**
   * Calls `listener` with every later change of the communication (starting from `since`, default
   * now) until the returned function is called. Throws an {@link InvalidArgumentError} for a bad ID.
   */
  watch(communicationId: string, listener: ChangeListener, since = new Date()): () => void {
    checkId(communicationId, 'communication id');
    let poll = this.#polls.get(communicationId);
    if (!poll) {
      poll = new Poll(communicationId, this.#queries, this.#logger, this.#timing, since, () =>
        this.#polls.delete(communicationId),
      );
      this.#polls.set(communicationId, poll);
    } else if (since.getTime() < poll.since.getTime()) {
      poll.rewind(since);
    }
    return poll.add(listener);
  }

  /** Stops every poller (shutdown). */
  close(): void {
    for (const poll of [...this.#polls.values()]) poll.stop();
  }
}

class Poll {
  readonly #listeners = new Set<ChangeListener>();
  readonly #seen = new Map<string, number>();
  #since: Date;
  #lastCounts = '';
  #lastFull = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    readonly communicationId: string,
    private readonly queries: ReportQueries,
    private readonly logger: Logger,
    private readonly timing: WatchTiming,
    since: Date,
    private readonly onEmpty: () => void,
  ) {
    this.#since = since;
    this.#schedule(0);
  }

  get since(): Date {
    return this.#since;
  }

  rewind(since: Date): void {
    this.#since = since;
    this.#lastFull = 0;
  }

  add(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.onEmpty();
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#timer === undefined) return;
    this.#running = true;
    let again = this.timing.intervalMs;
    try {
      const counts = await this.queries.counts(this.communicationId);
      const key = JSON.stringify(counts);
      const now = Date.now();
      if (key !== this.#lastCounts || now - this.#lastFull >= this.timing.fullCheckMs) {
        this.#lastFull = now;
        const from = new Date(this.#since.getTime() - this.timing.overlapMs);
        const { rows, more } = await this.queries.reads.changedSince(this.communicationId, from, WATCH_BATCH);
        const fresh = rows.filter((r) => this.#seen.get(r.id) !== r.updatedAt.getTime());
        for (const r of fresh) this.#seen.set(r.id, r.updatedAt.getTime());
        const newest = rows.at(-1)?.updatedAt;
        if (newest && newest.getTime() > this.#since.getTime()) this.#since = newest;
        // Forget what is older than the overlap window: it cannot be read again.
        const horizon = this.#since.getTime() - this.timing.overlapMs * 2;
        for (const [id, t] of this.#seen) if (t < horizon) this.#seen.delete(id);
        if (more) {
          // More than a batch changed: continue at once, from the newest one seen, without overlap.
          if (fresh.length === 0 && newest) this.#since = new Date(newest.getTime() + this.timing.overlapMs);
          again = 0;
        }
        if (fresh.length > 0 || key !== this.#lastCounts) {
          this.#lastCounts = key;
          const batch: ChangeBatch = { communicationId: this.communicationId, counts, records: fresh.map(toView) };
          for (const listener of this.#listeners) listener(batch);
        }
      }
    } catch (error) {
      this.logger.warn({ err: error, communicationId: this.communicationId }, 'live update poll failed; retrying');
      again = this.timing.intervalMs * 2;
    } finally {
      this.#running = false;
    }
    if (this.#timer !== undefined) this.#schedule(again);
  }
}
