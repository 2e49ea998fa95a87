import {
  ensureIndexes,
  ensureTtlIndex,
  isDuplicateKeyError,
  UnavailableError,
  type MongoHandle,
  type RetentionRule,
} from '@dlr/platform';
import {
  answerId,
  latestResponseId,
  type AnswerRecord,
  type FeedbackStore,
  type LatestResponse,
} from '../../domain/feedback.js';

/** The collections feedback-link owns. */
export const COLLECTIONS = {
  /** Answers (`<delivery>:ack|optout|read`, `<delivery>:respond:<time>:<option>`), latest-response pointers, bot counters. */
  feedback: 'feedback',
  /** SMS short codes → signed tokens (`_id` = code), from `ShortLinkIssued`. */
  shortLinks: 'short_links',
  /** What the pages show per communication (`_id` = communication ID), from `LinkContent`. */
  linkContent: 'link_content',
} as const;

/** The retention rule of page content: `seconds` after it was published (0: kept). */
export function linkContentRetention(seconds: number): RetentionRule {
  return { collection: COLLECTIONS.linkContent, field: 'publishedAt', seconds };
}

/**
 * Creates what feedback-link needs: every page lookup is by `_id`; `feedback.deliveryId` serves
 * erasure, and `link_content.publishedAt` is the TTL index of its retention (a plain index on
 * FerretDB v1, which sweeps instead). Idempotent.
 */
export async function migrateFeedback(mongo: MongoHandle, linkContentRetentionSeconds: number): Promise<void> {
  const existing = new Set((await mongo.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of Object.values(COLLECTIONS))
    if (!existing.has(name)) await mongo.db.createCollection(name).catch(() => undefined);
  await ensureIndexes(mongo.db, COLLECTIONS.feedback, [{ key: { deliveryId: 1 }, name: 'deliveryId' }]);
  const rule = linkContentRetention(linkContentRetentionSeconds);
  await ensureTtlIndex(mongo.db, rule.collection, { name: 'publishedAt', field: rule.field, seconds: rule.seconds });
}

interface SuspectedDoc {
  _id: string;
  deliveryId: string;
  hits: number;
  lastAt: Date;
  lastAction: string;
  lastReason: string;
}

/** {@link FeedbackStore} on MongoDB, addressed by `_id` only; failures become {@link UnavailableError}. */
export function mongoFeedbackStore(mongo: MongoHandle): FeedbackStore {
  const collection = mongo.db.collection<AnswerRecord>(COLLECTIONS.feedback);
  const latest = mongo.db.collection<LatestResponse>(COLLECTIONS.feedback);
  const suspected = mongo.db.collection<SuspectedDoc>(COLLECTIONS.feedback);
  const unavailable = (what: string) => (error: unknown) => {
    throw new UnavailableError(`could not ${what}`, error);
  };
  return {
    findOnce: (deliveryId, action) =>
      collection.findOne({ _id: answerId(deliveryId, action) }).catch(unavailable('read feedback')),
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
    recordResponse: async (record) => {
      try {
        await collection.insertOne(record);
      } catch (error) {
        // The same response posted twice within a millisecond: it is one response.
        if (!isDuplicateKeyError(error)) throw new UnavailableError('could not record the response', error);
      }
      const id = latestResponseId(record.deliveryId);
      const current = await latest.findOne({ _id: id }).catch(unavailable('read feedback'));
      if (current && current.recordedAt.getTime() > record.recordedAt.getTime()) return;
      await latest
        .replaceOne(
          { _id: id },
          { responseId: record._id, response: record.response ?? '', recordedAt: record.recordedAt },
          { upsert: true },
        )
        .catch(unavailable('record the response'));
    },
    latestResponse: (deliveryId) =>
      latest.findOne({ _id: latestResponseId(deliveryId) }).catch(unavailable('read feedback')),
    recordSuspectedBot: async (deliveryId, action, reason, at) => {
      await suspected
        .updateOne(
          { _id: `${deliveryId}:suspected` },
          { $inc: { hits: 1 }, $set: { deliveryId, lastAt: at, lastAction: action, lastReason: reason } },
          { upsert: true },
        )
        .catch(unavailable('record a suspected bot hit'));
    },
  };
}
