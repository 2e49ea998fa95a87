// Statuses over time: snapshots of a communication's summed counts, at most one per time bucket,
// taken while its counts change. The projection says which communications it counted; a timer reads
// their counts (by `_id`, never a scan of records) and upserts the bucket's snapshot.
import type { Logger } from '@dlr/core';
import type { StatusCounts } from '@dlr/status-engine';
import { dayOfBucket } from './projection.js';
import type { CommunicationCounts } from './reads.js';

/** A communication's counts as they were at `takenAt` (the last snapshot of its bucket). */
export interface CountsSnapshot {
  /** Start of the time bucket the snapshot stands for. */
  readonly bucket: Date;
  /** When its counts were read. */
  readonly takenAt: Date;
  readonly total: number;
  readonly status: StatusCounts;
}

/** Where snapshots are kept (adapters/mongo/history.ts implements it). */
export interface CountHistoryStore {
  /**
   * Upserts the snapshot of its bucket unless one taken later is already there (several replicas,
   * or a repeat, write the same document).
   */
  put(communicationId: string, snapshot: CountsSnapshot): Promise<void>;
  /** The communication's first `limit - 1` snapshots and its latest (at most `limit`), oldest first. */
  list(communicationId: string, limit: number): Promise<CountsSnapshot[]>;
}

/** Start of the bucket of `bucketMs` (aligned on the Unix epoch) that holds `at`. */
export function bucketStart(at: Date, bucketMs: number): Date {
  return new Date(at.getTime() - (at.getTime() % bucketMs));
}

/** Options of {@link startCountSnapshots}. */
export interface SnapshotOptions {
  /** Reads the counts of one communication (summed over its partitions). */
  readonly counts: (communicationId: string) => Promise<CommunicationCounts>;
  readonly store: CountHistoryStore;
  readonly tickMs: number;
  readonly bucketMs: number;
  readonly logger: Logger;
  /** How long `stop()` waits for the last tick (default 1 s). */
  readonly stopGraceMs?: number;
  readonly now?: () => Date;
}

/** A running snapshot timer. */
export interface CountSnapshots {
  /** Notes counts keys that changed (communications, or day buckets, which are ignored). */
  changed(keys: Iterable<string>): void;
  /** Takes the snapshots of everything changed so far now (what each tick does). */
  flush(): Promise<void>;
  /** Stops the timer after one last flush, waiting for it at most the grace. */
  stop(): Promise<void>;
}

/**
 * Every `tickMs`, snapshots the counts of the communications whose counts changed since the last
 * tick. A failed read or write is logged (the communication ID only, never a person's data) and it
 * and the rest of the tick are tried again next tick; nothing here throws into the timer.
 */
export function startCountSnapshots(options: SnapshotOptions): CountSnapshots {
  const now = options.now ?? (() => new Date());
  let dirty = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  /** Set when `stop()` gave up waiting: the tick leaves the rest (the store is closing). */
  let abandoned = false;

  const tick = async (): Promise<void> => {
    const due = [...dirty];
    dirty = new Set();
    for (const [i, communicationId] of due.entries()) {
      if (abandoned) return;
      try {
        const takenAt = now();
        const counts = await options.counts(communicationId);
        // Nothing to chart (and no snapshot of a communication retention has just deleted).
        if (counts.total === 0) continue;
        const bucket = bucketStart(takenAt, options.bucketMs);
        await options.store.put(communicationId, { bucket, takenAt, total: counts.total, status: counts.status });
      } catch (error) {
        // The store is likely down: the rest wait for the next tick rather than each meet the deadline.
        for (const rest of due.slice(i)) dirty.add(rest);
        options.logger.warn(
          { communicationId, waiting: due.length - i, err: String(error) },
          'count snapshot failed; next tick',
        );
        return;
      }
    }
  };
  /** Ticks queued or running (a timer tick is skipped while one is, so a slow store never piles them up). */
  let pending = 0;
  const flush = (): Promise<void> => {
    pending += 1;
    running = running
      .then(tick)
      .catch((error: unknown) => options.logger.warn({ err: String(error) }, 'count snapshot tick failed'))
      .finally(() => (pending -= 1));
    return running;
  };
  const timer = setInterval(() => {
    if (pending === 0 && dirty.size > 0) void flush();
  }, options.tickMs);
  timer.unref();
  let stopping: Promise<void> | undefined;
  const stopNow = async (): Promise<void> => {
    stopped = true;
    clearInterval(timer);
    const last = flush();
    const grace = options.stopGraceMs ?? 1_000;
    let timeout: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), grace)));
    const done = await Promise.race([last.then(() => true), late]);
    clearTimeout(timeout);
    if (done) return;
    abandoned = true;
    options.logger.warn({ graceMs: grace }, 'stopped while taking count snapshots; the rest are skipped');
  };

  return {
    changed(keys) {
      if (stopped) return;
      for (const key of keys) if (dayOfBucket(key) === undefined) dirty.add(key);
    },
    flush,
    stop() {
      return (stopping ??= stopNow());
    },
  };
}
