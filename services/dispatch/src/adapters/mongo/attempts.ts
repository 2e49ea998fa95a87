import { ensureIndexes, isDuplicateKeyError, type MongoHandle } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { AttemptDoc, AttemptResult, FinishedAttempt } from '../../domain/attempt.js';
import { isFinished } from '../../domain/attempt.js';
import type { AttemptStore } from '../../domain/ports.js';

/** The collection this service owns. */
export const ATTEMPTS = 'attempts';

/** Creates this service's indexes (idempotent). Lookups are by `_id`; `deliveryId` serves per-delivery history. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await ensureIndexes(mongo.db, ATTEMPTS, [{ key: { deliveryId: 1 }, name: 'deliveryId' }]);
}

/** {@link AttemptStore} over MongoDB: `_id` lookups and single-document conditional updates only. */
export class MongoAttemptStore implements AttemptStore {
  private readonly attempts: Collection<AttemptDoc>;

  constructor(mongo: MongoHandle) {
    this.attempts = mongo.db.collection<AttemptDoc>(ATTEMPTS);
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
