import {
  ensureIndexes,
  ensureTtlIndex,
  findByIds,
  groupCommit,
  isDuplicateKeyError,
  UnavailableError,
  type MongoHandle,
  type RetentionRule,
} from '@dlr/platform';
import type { Collection, OptionalUnlessRequiredId } from 'mongodb';
import type {
  ParkedCallback,
  ParkedStore,
  ProviderMessageStore,
  RawCallback,
  RawCallbackStore,
} from '../../domain/ingest.js';
import type { Correlation } from '../../domain/provider-event.js';

/** Raw callbacks as received (audit, replay); `_id` = `<provider>:<provider event id>`. */
export const RAW_CALLBACKS = 'raw_callbacks';
/** Mapped callbacks waiting for their provider message; `_id` = the raw callback's `_id`. */
export const PARKED_CALLBACKS = 'parked_callbacks';
/** What dispatch reported about provider messages; `_id` = `<provider>:<provider message id>`. */
export const PROVIDER_MESSAGES = 'provider_messages';

/** How long raw and parked callbacks are kept, in seconds (0: no limit). */
export interface CallbackRetention {
  readonly rawSeconds: number;
  readonly parkedSeconds: number;
}

/** The retention rules of provider-callback's collections (TTL indexes, and the sweeps on FerretDB). */
export function callbackRetentionRules(retention: CallbackRetention): RetentionRule[] {
  return [
    { collection: RAW_CALLBACKS, field: 'receivedAt', seconds: retention.rawSeconds },
    { collection: PARKED_CALLBACKS, field: 'parkedAt', seconds: retention.parkedSeconds },
  ];
}

/**
 * Creates the collections of provider-callback and their indexes: every hot lookup is by `_id`;
 * `parked_callbacks` also by `messageKey` and `parkedAt` (a small collection: only callbacks that
 * raced their Sent event wait there); `receivedAt` and `parkedAt` are TTL indexes of the retention
 * (plain ones on FerretDB v1, which sweeps instead). Idempotent.
 */
export async function migrateRawCallbacks(mongo: MongoHandle, retention: CallbackRetention): Promise<void> {
  for (const name of [RAW_CALLBACKS, PARKED_CALLBACKS, PROVIDER_MESSAGES]) {
    const existing = await mongo.db.listCollections({ name }, { nameOnly: true }).toArray();
    if (existing.length === 0) await mongo.db.createCollection(name).catch(() => undefined);
  }
  await ensureIndexes(mongo.db, PARKED_CALLBACKS, [{ key: { messageKey: 1 }, name: 'messageKey' }]);
  // parkedAt also serves `oldest` (the periodic retry).
  const [raw, parked] = callbackRetentionRules(retention);
  await ensureTtlIndex(mongo.db, RAW_CALLBACKS, { name: 'receivedAt', field: raw!.field, seconds: raw!.seconds });
  await ensureTtlIndex(mongo.db, PARKED_CALLBACKS, {
    name: 'parkedAt',
    field: parked!.field,
    seconds: parked!.seconds,
  });
}

const unavailable = (what: string) => (error: unknown) => {
  throw new UnavailableError(`could not ${what}; retry`, error);
};

/** How many lookups handled together share one read. */
const READ_BATCH = 500;

/**
 * One unordered insert of `docs`; per document: true when inserted, false when its `_id` was there
 * (a duplicate key), or the error it alone met. Throws when the whole insert failed.
 */
async function insertEach<T extends { _id: string }>(
  collection: Collection<T>,
  docs: readonly T[],
  what: string,
): Promise<(boolean | Error)[]> {
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
    return docs.map(() => true);
  } catch (error) {
    // Unordered: every document without a write error was inserted.
    const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
    const list = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as {
      index?: unknown;
      code?: unknown;
    }[];
    if (list.length === 0 || list.some((e) => typeof e.index !== 'number')) {
      throw new UnavailableError(`could not ${what}; retry`, error);
    }
    const failed = new Map(
      list.map((e) => [e.index as number, e.code === 11000 ? false : new UnavailableError(`could not ${what}; retry`)]),
    );
    return docs.map((_, i) => failed.get(i) ?? true);
  }
}

/** Inserts by `_id`; a duplicate key means "already there". Returns true when this call inserted. */
async function insertOnce<T extends { _id: string }>(
  mongo: MongoHandle,
  collection: string,
  doc: T,
  what: string,
): Promise<boolean> {
  try {
    await mongo.db.collection<{ _id: string }>(collection).insertOne(doc);
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw new UnavailableError(`could not ${what}; retry`, error);
  }
}

/**
 * {@link RawCallbackStore} on MongoDB: insert by `_id`, a duplicate key means "already stored".
 * Callbacks arriving together are inserted together (group commit: one unordered `insertMany`,
 * so one round trip and one commit serve many webhook requests); each caller still learns whether
 * its own document was inserted.
 */
export function mongoRawCallbackStore(mongo: MongoHandle): RawCallbackStore {
  const collection = mongo.db.collection<RawCallback>(RAW_CALLBACKS);
  const get = async (id: string) =>
    (await collection.findOne({ _id: id }).catch(unavailable('read the stored callback'))) ?? undefined;
  const insert = groupCommit<RawCallback, boolean>({
    maxItems: mongo.store.bulkSize,
    run: (docs) => insertEach(collection, docs, 'store the callback'),
  });
  return {
    get,
    markExpired: async (id, at, reason) =>
      void (await collection
        .updateOne({ _id: id }, { $set: { parkExpiredAt: at, parkExpiredReason: reason } })
        .catch(unavailable('mark the callback expired'))),
    storeOnce: async (doc) => {
      if (await insert(doc)) return { stored: doc, inserted: true };
      const stored = await get(doc._id);
      if (!stored) throw new UnavailableError('stored callback vanished; retry');
      return { stored, inserted: false };
    },
  };
}

/** {@link ParkedStore} on MongoDB. */
export function mongoParkedStore(mongo: MongoHandle): ParkedStore {
  const collection = mongo.db.collection<ParkedCallback>(PARKED_CALLBACKS);
  return {
    park: async (doc) => void (await insertOnce(mongo, PARKED_CALLBACKS, doc, 'park the callback')),
    forMessage: groupCommit<string, ParkedCallback[]>({
      maxItems: READ_BATCH,
      run: async (keys) => {
        // One read for the Sent events handled together (index: messageKey).
        const found = await collection
          .find({ messageKey: { $in: [...new Set(keys)] } })
          .toArray()
          .catch(unavailable('read parked callbacks'));
        const byKey = new Map<string, ParkedCallback[]>();
        for (const p of found) byKey.set(p.messageKey, [...(byKey.get(p.messageKey) ?? []), p]);
        return keys.map((k) => byKey.get(k) ?? []);
      },
    }),
    oldest: (limit) =>
      collection.find({}).sort({ parkedAt: 1 }).limit(limit).toArray().catch(unavailable('read parked callbacks')),
    remove: async (id) => void (await collection.deleteOne({ _id: id }).catch(unavailable('unpark the callback'))),
    countByProvider: async () => {
      const rows = await collection
        .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$provider', n: { $sum: 1 } } }])
        .toArray()
        .catch(unavailable('count parked callbacks'));
      return new Map(rows.map((r) => [r._id, r.n]));
    },
  };
}

/**
 * {@link ProviderMessageStore} on MongoDB: one document per provider message, by `_id`. The calls of
 * Sent events handled together share one unordered insert and one `$in` read (group commit).
 */
export function mongoProviderMessageStore(mongo: MongoHandle): ProviderMessageStore {
  const collection = mongo.db.collection<Correlation & { _id: string }>(PROVIDER_MESSAGES);
  const remember = groupCommit<Correlation & { _id: string }, void>({
    maxItems: READ_BATCH,
    run: async (docs) =>
      (await insertEach(collection, docs, 'remember the provider message')).map((r) =>
        r instanceof Error ? r : undefined,
      ),
  });
  const find = groupCommit<string, Correlation | undefined>({
    maxItems: READ_BATCH,
    run: async (keys) => {
      const docs = await findByIds(collection, [...new Set(keys)]).catch(unavailable('read the provider message'));
      const byKey = new Map(docs.map((d) => [d._id, d]));
      return keys.map((k) => {
        const doc = byKey.get(k);
        return doc
          ? { deliveryId: doc.deliveryId, communicationId: doc.communicationId, attempt: doc.attempt }
          : undefined;
      });
    },
  });
  return {
    remember: (key, c) =>
      remember({ _id: key, deliveryId: c.deliveryId, communicationId: c.communicationId, attempt: c.attempt }),
    find,
  };
}
