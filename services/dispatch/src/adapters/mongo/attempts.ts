import { ensureIndexes, isDuplicateKeyError, type MongoHandle } from '@dlr/platform';
import type { Collection, MongoBulkWriteError, WriteError } from 'mongodb';
import type { AttemptDoc, AttemptResult, FinishedAttempt } from '../../domain/attempt.js';
import { isFinished } from '../../domain/attempt.js';
import type { AttemptStore } from '../../domain/ports.js';

/** The collections this service owns: finished attempts, and the claims of attempts being sent. */
export const ATTEMPTS = 'attempts';
export const ATTEMPT_CLAIMS = 'attempt_claims';

/**
 * Documents per `insertMany`. Plain inserts stay fast in large bulks on every store, unlike updates
 * and upserts, which FerretDB v1 must take 10 at a time (see the store profile and docs/decisions.md).
 */
const INSERT_BULK = 500;

/** Creates this service's indexes (idempotent). Lookups are by `_id`; `deliveryId` serves per-delivery history. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await ensureIndexes(mongo.db, ATTEMPTS, [{ key: { deliveryId: 1 }, name: 'deliveryId' }]);
}

/**
 * {@link AttemptStore} over MongoDB, insert-only on the hot path: an attempt is claimed by inserting
 * its `sending` document into `attempt_claims` and finished by inserting its result into `attempts`,
 * both by `_id` (`<deliveryId>:<attempt>`), so the unique `_id` decides who was first and a batch is
 * one bulk insert each. `attempts` thus holds only finished attempts; a claim stays after its
 * finish, so a repeat of the request is recognised.
 */
export class MongoAttemptStore implements AttemptStore {
  private readonly attempts: Collection<AttemptDoc>;
  private readonly claims: Collection<AttemptDoc>;

  constructor(mongo: MongoHandle) {
    this.attempts = mongo.db.collection<AttemptDoc>(ATTEMPTS);
    this.claims = mongo.db.collection<AttemptDoc>(ATTEMPT_CLAIMS);
  }

  async insert(doc: AttemptDoc): Promise<boolean> {
    const [outcome] = await this.insertMany([doc]);
    if (outcome instanceof Error) throw outcome;
    return outcome === true;
  }

  async insertMany(docs: readonly AttemptDoc[]): Promise<(boolean | Error)[]> {
    const failed = await insertEach(this.claims, docs);
    return failed.map((f) => (f === undefined ? true : f === 'duplicate' ? false : f));
  }

  async get(id: string): Promise<AttemptDoc | null> {
    return (await this.attempts.findOne({ _id: id })) ?? (await this.claims.findOne({ _id: id }));
  }

  async finish(doc: AttemptDoc, result: AttemptResult, finishedAt: Date): Promise<FinishedAttempt> {
    const [outcome] = await this.finishMany([{ doc, result }], finishedAt);
    if (outcome === undefined || outcome instanceof Error) throw outcome ?? new Error('no outcome');
    return outcome;
  }

  async finishMany(
    items: readonly { doc: AttemptDoc; result: AttemptResult }[],
    finishedAt: Date,
  ): Promise<(FinishedAttempt | Error)[]> {
    const finished: FinishedAttempt[] = items.map(({ doc, result }) => ({
      ...doc,
      ...result,
      state: result.state,
      finishedAt,
    }));
    const failed = await insertEach(this.attempts, finished);
    return Promise.all(
      finished.map(async (doc, i) => {
        const f = failed[i];
        if (f === undefined) return doc;
        if (f !== 'duplicate') return f;
        // Someone finished it first: theirs is the result (rare: a repeat racing a stale resume).
        return this.stored(doc);
      }),
    );
  }

  /** The stored result of an attempt whose finish met an existing document. */
  private async stored(doc: FinishedAttempt): Promise<FinishedAttempt | Error> {
    const { _id, ...fields } = doc;
    // A `sending` document in `attempts` (written by hand, or by a version before claims) is finished in place.
    await this.attempts.updateOne({ _id, state: 'sending' }, { $set: fields });
    const stored = await this.attempts.findOne({ _id });
    return stored !== null && isFinished(stored) ? stored : new Error(`attempt ${_id} could not be finished`);
  }

  async release(id: string): Promise<void> {
    // Only an attempt that has no result: a finished one keeps its claim, so repeats stay recognised.
    if ((await this.attempts.findOne({ _id: id }, { projection: { _id: 1 } })) !== null) return;
    await this.claims.deleteOne({ _id: id, state: 'sending' });
  }
}

/**
 * Inserts `docs` as unordered bulks; per document, undefined when inserted, `'duplicate'` when its
 * `_id` exists, or the `Error` it alone met. Throws when a whole bulk fails (connection, write concern).
 */
async function insertEach(
  collection: Collection<AttemptDoc>,
  docs: readonly AttemptDoc[],
): Promise<(undefined | 'duplicate' | Error)[]> {
  const outcomes: (undefined | 'duplicate' | Error)[] = docs.map(() => undefined);
  for (let from = 0; from < docs.length; from += INSERT_BULK) {
    try {
      await collection.insertMany(docs.slice(from, from + INSERT_BULK), { ordered: false });
    } catch (error) {
      const bulk = error as Partial<MongoBulkWriteError> | null;
      if (bulk?.name !== 'MongoBulkWriteError' || bulk.writeErrors === undefined) {
        // A single-document insert reports a duplicate as a plain server error.
        if (docs.length - from === 1 && isDuplicateKeyError(error)) {
          outcomes[from] = 'duplicate';
          continue;
        }
        throw error;
      }
      const failed = ([] as WriteError[]).concat(bulk.writeErrors as WriteError | WriteError[]);
      if (failed.length === 0) throw error;
      for (const w of failed) {
        outcomes[from + w.index] = w.code === 11000 ? 'duplicate' : new Error(`insert failed: ${w.errmsg ?? w.code}`);
      }
    }
  }
  return outcomes;
}
