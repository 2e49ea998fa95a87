import { isDuplicateKeyError, UnavailableError, type MongoHandle } from '@dlr/platform';
import { ackId, type AckRecord, type FeedbackStore } from '../../domain/feedback.js';

/** The collection feedback-link owns. */
export const FEEDBACK = 'feedback';

/** Creates what `feedback` needs: every lookup is by `_id`, so no index beyond it. Idempotent. */
export async function migrateFeedback(mongo: MongoHandle): Promise<void> {
  const existing = await mongo.db.listCollections({ name: FEEDBACK }, { nameOnly: true }).toArray();
  if (existing.length === 0) await mongo.db.createCollection(FEEDBACK).catch(() => undefined);
}

/** {@link FeedbackStore} on MongoDB, addressed by `_id` only; failures become {@link UnavailableError}. */
export function mongoFeedbackStore(mongo: MongoHandle): FeedbackStore {
  const collection = mongo.db.collection<AckRecord>(FEEDBACK);
  const unavailable = (what: string) => (error: unknown) => {
    throw new UnavailableError(`could not ${what}`, error);
  };
  return {
    findAck: (deliveryId) => collection.findOne({ _id: ackId(deliveryId) }).catch(unavailable('read feedback')),
    recordOnce: async (record) => {
      try {
        await collection.insertOne(record);
        return { stored: record, inserted: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw new UnavailableError('could not record feedback', error);
      }
      const stored = await collection.findOne({ _id: record._id }).catch(unavailable('read feedback'));
      if (!stored) throw new UnavailableError('recorded feedback vanished; retry');
      return { stored, inserted: false };
    },
    markPublished: async (id, at) => {
      await collection.updateOne({ _id: id }, { $set: { publishedAt: at } }).catch(unavailable('update feedback'));
    },
  };
}
