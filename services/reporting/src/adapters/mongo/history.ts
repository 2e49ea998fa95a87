// Snapshots of a communication's counts over time (the Delivery Report's chart), one document per
// communication and time bucket: `_id` = `<communicationId>:<bucket start, ISO>`. Every reporting
// replica may write a bucket's snapshot; the one read last wins (a fenced upsert by `_id`).
import { ensureIndexes, isDuplicateKeyError } from '@dlr/platform';
import { emptyCounts, isStatusKey, type StatusKey } from '@dlr/status-engine';
import type { Collection, Db } from 'mongodb';
import type { CountHistoryStore, CountsSnapshot } from '../../domain/history.js';

/** Collection of count snapshots. */
export const COUNT_HISTORY = 'communication_count_history';

/** A snapshot as stored. */
export interface CountSnapshotDoc {
  _id: string;
  communicationId: string;
  bucket: Date;
  takenAt: Date;
  total: number;
  status: Partial<Record<StatusKey, number>>;
}

/** Creates the index the chart's read and retention's delete (records.ts) use; idempotent. */
export async function migrateHistory(db: Db): Promise<void> {
  await ensureIndexes(db, COUNT_HISTORY, [{ key: { communicationId: 1, bucket: 1 }, name: 'communicationId_bucket' }]);
}

/** `_id` of a communication's snapshot for the bucket starting at `bucket`. */
export function snapshotId(communicationId: string, bucket: Date): string {
  return `${communicationId}:${bucket.toISOString()}`;
}

/** Count snapshots in MongoDB (or FerretDB v1). */
export class MongoCountHistory implements CountHistoryStore {
  readonly #history: Collection<CountSnapshotDoc>;

  constructor(db: Db) {
    this.#history = db.collection<CountSnapshotDoc>(COUNT_HISTORY);
  }

  /** Upserts the bucket's snapshot unless a later one is there. Throws when the store fails. */
  async put(communicationId: string, s: CountsSnapshot): Promise<void> {
    const doc: CountSnapshotDoc = {
      _id: snapshotId(communicationId, s.bucket),
      communicationId,
      bucket: s.bucket,
      takenAt: s.takenAt,
      total: s.total,
      status: { ...s.status },
    };
    try {
      // index: _id. A later snapshot fails the filter; the upsert then collides on `_id`.
      await this.#history.replaceOne({ _id: doc._id, takenAt: { $not: { $gt: s.takenAt } } }, doc, { upsert: true });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // else: a later snapshot of the bucket stands
    }
  }

  /**
   * The communication's first `limit - 1` snapshots and its latest, oldest first.
   * index: communicationId_bucket (FerretDB v1 scans this collection, far smaller than the records
   * the same page already reads there).
   */
  async list(communicationId: string, limit: number): Promise<CountsSnapshot[]> {
    const filter = { communicationId: String(communicationId) };
    const [first, last] = await Promise.all([
      this.#history
        .find(filter)
        .sort({ bucket: 1 })
        .limit(Math.max(1, limit - 1))
        .toArray(),
      this.#history.find(filter).sort({ bucket: -1 }).limit(1).toArray(),
    ]);
    const docs = last[0] !== undefined && !first.some((d) => d._id === last[0]!._id) ? [...first, last[0]] : first;
    return docs.map((d) => {
      const status = emptyCounts();
      for (const [key, n] of Object.entries(d.status ?? {})) if (isStatusKey(key)) status[key] = n ?? 0;
      return { bucket: d.bucket, takenAt: d.takenAt, total: d.total ?? 0, status };
    });
  }
}
