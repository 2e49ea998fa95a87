import { ensureIndexes, findByIds, isDuplicateKeyError, type MongoHandle, type StoreProfile } from '@dlr/platform';
import type { AnyBulkWriteOperation, Collection, MongoBulkWriteError, WriteError } from 'mongodb';
import type { AttemptDoc, AttemptResult, FinishedAttempt } from '../../domain/attempt.js';
import { isFinished } from '../../domain/attempt.js';
import type { AttemptStore } from '../../domain/ports.js';

/** The collection this service owns. */
export const ATTEMPTS = 'attempts';

/** Creates this service's indexes (idempotent). Lookups are by `_id`; `deliveryId` serves per-delivery history. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await ensureIndexes(mongo.db, ATTEMPTS, [{ key: { deliveryId: 1 }, name: 'deliveryId' }]);
}

/**
 * {@link AttemptStore} over MongoDB: `_id` lookups and conditional updates by `_id`, alone or as
 * unordered bulks of the store's bulk size.
 */
export class MongoAttemptStore implements AttemptStore {
  private readonly attempts: Collection<AttemptDoc>;
  private readonly store: StoreProfile;

  constructor(mongo: MongoHandle) {
    this.attempts = mongo.db.collection<AttemptDoc>(ATTEMPTS);
    this.store = mongo.store;
  }

  async insertMany(docs: readonly AttemptDoc[]): Promise<(boolean | Error)[]> {
    const outcomes: (boolean | Error)[] = docs.map(() => true);
    for (let from = 0; from < docs.length; from += this.store.bulkSize) {
      try {
        await this.attempts.insertMany(docs.slice(from, from + this.store.bulkSize), { ordered: false });
      } catch (error) {
        for (const w of writeErrorsOf(error)) {
          outcomes[from + w.index] = w.code === 11000 ? false : new Error(`insert failed: ${w.errmsg ?? w.code}`);
        }
      }
    }
    return outcomes;
  }

  async finishMany(
    items: readonly { doc: AttemptDoc; result: AttemptResult }[],
    finishedAt: Date,
  ): Promise<(FinishedAttempt | Error)[]> {
    const outcomes: (FinishedAttempt | Error)[] = [];
    for (let from = 0; from < items.length; from += this.store.bulkSize) {
      const chunk = items.slice(from, from + this.store.bulkSize);
      const ops: AnyBulkWriteOperation<AttemptDoc>[] = chunk.map(({ doc, result }) => ({
        // index: _id
        updateOne: { filter: { _id: doc._id, state: 'sending' }, update: { $set: { ...result, finishedAt } } },
      }));
      let matched = 0;
      const failed = new Map<number, Error>();
      try {
        matched = (await this.attempts.bulkWrite(ops, { ordered: false })).matchedCount;
      } catch (error) {
        for (const w of writeErrorsOf(error)) failed.set(w.index, new Error(`finish failed: ${w.errmsg ?? w.code}`));
      }
      if (matched === chunk.length) {
        for (const { doc, result } of chunk) outcomes.push({ ...doc, ...result, state: result.state, finishedAt });
        continue;
      }
      // Some were finished by someone else first (or failed): the stored attempt is the answer.
      const stored = new Map(
        (
          await findByIds(
            this.attempts,
            chunk.map((i) => i.doc._id),
            this.store,
          )
        ).map((d) => [d._id, d]),
      );
      chunk.forEach(({ doc }, i) => {
        const found = stored.get(doc._id);
        outcomes.push(
          failed.get(i) ??
            (found !== undefined && isFinished(found) ? found : new Error(`attempt ${doc._id} could not be finished`)),
        );
      });
    }
    return outcomes;
  }

  async insert(doc: AttemptDoc): Promise<boolean> {
    try {
      await this.attempts.insertOne(doc);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async get(id: string): Promise<AttemptDoc | null> {
    return this.attempts.findOne({ _id: id });
  }

  async finish(doc: AttemptDoc, result: AttemptResult, finishedAt: Date): Promise<FinishedAttempt> {
    const fields: Partial<AttemptDoc> = { ...result, finishedAt };
    const { matchedCount } = await this.attempts.updateOne({ _id: doc._id, state: 'sending' }, { $set: fields });
    if (matchedCount === 1) return { ...doc, ...fields, state: result.state, finishedAt };
    const stored = await this.attempts.findOne({ _id: doc._id });
    if (stored === null || !isFinished(stored)) throw new Error(`attempt ${doc._id} could not be finished`);
    return stored;
  }

  async release(id: string): Promise<void> {
    await this.attempts.deleteOne({ _id: id, state: 'sending' });
  }
}

/** The per-document errors of an unordered bulk; rethrows anything else (the write failed as a whole). */
function writeErrorsOf(error: unknown): WriteError[] {
  const bulk = error as Partial<MongoBulkWriteError> | null;
  if (bulk?.name !== 'MongoBulkWriteError' || bulk.writeErrors === undefined) throw error;
  const failed = ([] as WriteError[]).concat(bulk.writeErrors as WriteError | WriteError[]);
  if (failed.length === 0) throw error;
  return failed;
}
