import { isDuplicateKeyError, UnavailableError, type MongoHandle } from '@dlr/platform';
import type { RawCallback, RawCallbackStore } from '../../domain/ingest.js';

/** The collection provider-callback owns. */
export const RAW_CALLBACKS = 'raw_callbacks';

/** Creates the indexes of `raw_callbacks`: every lookup is by `_id`, so none beyond it. Idempotent. */
export async function migrateRawCallbacks(mongo: MongoHandle): Promise<void> {
  const existing = await mongo.db.listCollections({ name: RAW_CALLBACKS }, { nameOnly: true }).toArray();
  if (existing.length === 0) await mongo.db.createCollection(RAW_CALLBACKS).catch(() => undefined);
}

/** {@link RawCallbackStore} on MongoDB: insert by `_id`, a duplicate key means "already stored". */
export function mongoRawCallbackStore(mongo: MongoHandle): RawCallbackStore {
  const collection = mongo.db.collection<RawCallback>(RAW_CALLBACKS);
  return {
    storeOnce: async (doc) => {
      try {
        await collection.insertOne(doc);
        return { stored: doc, inserted: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw new UnavailableError('could not store the callback', error);
      }
      const stored = await collection.findOne({ _id: doc._id }).catch((error: unknown) => {
        throw new UnavailableError('could not read the stored callback', error);
      });
      if (!stored) throw new UnavailableError('stored callback vanished; retry');
      return { stored, inserted: false };
    },
  };
}
