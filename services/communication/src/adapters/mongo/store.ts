import { ensureIndexes, findByIds, isDuplicateKeyError, type MongoHandle, type StoreProfile } from '@dlr/platform';
import type { Collection, MongoBulkWriteError } from 'mongodb';
import type {
  CommunicationDoc,
  DeletionDoc,
  DeliveryDoc,
  PreferenceOverrideDoc,
  ResendDoc,
} from '../../domain/model.js';
import type { CommunicationStore, DraftFields, DraftStore, OperatorActionStore } from '../../domain/ports.js';
import type { HistoryStore } from '../../domain/history.js';
import type { ChannelName } from '../../domain/model.js';

const PAGE = 1_000;

/** The collections this service owns. */
export const COLLECTIONS = { communications: 'communications', deliveries: 'deliveries', resends: 'resends' } as const;

/** Creates this service's indexes (idempotent). */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await ensureIndexes(mongo.db, COLLECTIONS.deliveries, [
    // streamDeliveries, countDeliveries: equality on communicationId, range on _id.
    { key: { communicationId: 1, _id: 1 }, name: 'communicationId_id' },
    // recipientDeliveries: equality on recipientKey, newest first.
    { key: { recipientKey: 1, createdAt: -1, _id: -1 }, name: 'recipientKey_createdAt_id' },
    // MongoErasure.byAddress: erasing a person by email or phone; recipientKeysAt (history search).
    { key: { channel: 1, address: 1 }, name: 'channel_address' },
  ]);
  // MongoTemplates.list: newest first.
  await ensureIndexes(mongo.db, 'templates', [{ key: { createdAt: -1, _id: -1 }, name: 'createdAt_id' }]);
  await ensureIndexes(mongo.db, COLLECTIONS.communications, [
    // listSending: equality on state.
    { key: { state: 1 }, name: 'state' },
    // listCommunications: newest first.
    { key: { createdAt: -1, _id: -1 }, name: 'createdAt_id' },
    // listResending: the few communications holding a resend slot.
    { key: { resendInProgress: 1 }, name: 'resendInProgress' },
  ]);
}

/** {@link CommunicationStore} over MongoDB; every write is a single-document operation. */
export class MongoCommunicationStore implements CommunicationStore, OperatorActionStore, DraftStore, HistoryStore {
  private readonly communications: Collection<CommunicationDoc>;
  private readonly deliveries: Collection<DeliveryDoc>;
  private readonly resends: Collection<ResendDoc>;
  private readonly store: StoreProfile;

  constructor(mongo: MongoHandle) {
    this.store = mongo.store;
    this.communications = mongo.db.collection<CommunicationDoc>(COLLECTIONS.communications);
    this.deliveries = mongo.db.collection<DeliveryDoc>(COLLECTIONS.deliveries);
    this.resends = mongo.db.collection<ResendDoc>(COLLECTIONS.resends);
  }

  async insertCommunication(doc: CommunicationDoc): Promise<void> {
    await this.communications.insertOne(doc);
  }

  async getCommunication(id: string): Promise<CommunicationDoc | null> {
    return this.communications.findOne({ _id: id, deletion: { $exists: false } });
  }

  async getAnyCommunication(id: string): Promise<CommunicationDoc | null> {
    return this.communications.findOne({ _id: id });
  }

  async updateDraft(id: string, fields: DraftFields): Promise<CommunicationDoc | null> {
    return this.communications.findOneAndUpdate(
      { _id: id, state: 'draft', deletion: { $exists: false } },
      { $set: { ...fields } },
      { returnDocument: 'after' },
    );
  }

  async markRemoval(id: string, recipientKeys: readonly string[]): Promise<CommunicationDoc | null> {
    return this.communications.findOneAndUpdate(
      { _id: id, state: 'draft', deletion: { $exists: false } },
      { $addToSet: { pendingRemoval: { $each: [...recipientKeys] } } },
      { returnDocument: 'after' },
    );
  }

  async clearRemoval(id: string, recipientKeys: readonly string[]): Promise<void> {
    await this.communications.updateOne(
      { _id: id, state: 'draft' },
      { $pullAll: { pendingRemoval: [...recipientKeys] } },
    );
  }

  async markDeleted(id: string, deletion: DeletionDoc): Promise<CommunicationDoc | null> {
    return this.communications.findOneAndUpdate(
      { _id: id, state: 'draft', deletion: { $exists: false } },
      { $set: { deletion } },
      { returnDocument: 'after' },
    );
  }

  async markPurged(id: string): Promise<void> {
    await this.communications.updateOne({ _id: id }, { $set: { 'deletion.purged': true } });
  }

  async listUnpurged(): Promise<CommunicationDoc[]> {
    // index state (deleted drafts stay in state draft)
    return this.communications.find({ state: 'draft', 'deletion.purged': false }).toArray();
  }

  async deleteDeliveries(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.deliveries.deleteMany({ _id: { $in: [...ids] } }); // index: _id
  }

  async insertDeliveries(docs: readonly DeliveryDoc[]): Promise<{ existingIds: string[] }> {
    if (docs.length === 0) return { existingIds: [] };
    try {
      await this.deliveries.insertMany([...docs], { ordered: false });
      return { existingIds: [] };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const writeErrors: unknown = (error as MongoBulkWriteError).writeErrors;
      const list = (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as { index: number }[];
      return { existingIds: list.map((e) => docs[e.index]?._id).filter((id): id is string => id !== undefined) };
    }
  }

  async getDeliveries(ids: readonly string[]): Promise<DeliveryDoc[]> {
    // index: _id ($in batches, or one _id lookup each on FerretDB v1: see findByIds)
    return findByIds(this.deliveries, ids);
  }

  async countDeliveries(communicationId: string): Promise<number> {
    return this.deliveries.countDocuments({ communicationId }); // index communicationId_id
  }

  async *streamDeliveries(communicationId: string): AsyncIterable<DeliveryDoc> {
    let after = '';
    for (;;) {
      // index communicationId_id
      const page = await this.deliveries
        .find({ communicationId, _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(PAGE)
        .toArray();
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < PAGE) return;
      after = last._id;
    }
  }

  async transition(
    id: string,
    from: CommunicationDoc['state'],
    to: CommunicationDoc['state'],
    at: Date,
  ): Promise<CommunicationDoc | null> {
    const stamp = to === 'sending' ? { sendStartedAt: at } : to === 'sent' ? { sentAt: at } : {};
    // A deleted draft is never sent; the filter also orders a send after any edit of the draft.
    return this.communications.findOneAndUpdate(
      { _id: id, state: from, deletion: { $exists: false } },
      { $set: { state: to, ...stamp } },
      { returnDocument: 'after' },
    );
  }

  async recipientsChanged(id: string, deliveries: number): Promise<void> {
    if (deliveries !== 0) {
      // Only where the count is kept from the start (a communication stored before it was is counted).
      const kept = await this.communications.updateOne(
        { _id: id, deliveryCount: { $exists: true } },
        { $inc: { recipientsRevision: 1, deliveryCount: deliveries } },
      );
      if (kept.matchedCount > 0) return;
    }
    await this.communications.updateOne({ _id: id }, { $inc: { recipientsRevision: 1 } });
  }

  async setDeliveryCount(id: string, revision: number, count: number): Promise<void> {
    await this.communications.updateOne({ _id: id, recipientsRevision: revision }, { $set: { deliveryCount: count } });
  }

  async deliveriesPage(communicationId: string, after: string, limit: number): Promise<DeliveryDoc[]> {
    // index communicationId_id
    return this.deliveries
      .find({ communicationId, _id: { $gt: after } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  async listSending(): Promise<string[]> {
    const docs = await this.communications.find({ state: 'sending' }, { projection: { _id: 1 } }).toArray(); // index state
    return docs.map((d) => d._id);
  }

  async listCommunications(limit: number, after?: { createdAt: Date; id: string }): Promise<CommunicationDoc[]> {
    const filter = after
      ? {
          deletion: { $exists: false },
          $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }],
        }
      : { deletion: { $exists: false } };
    return this.communications.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray(); // index createdAt_id
  }

  async setPreferenceOverride(id: string, override: PreferenceOverrideDoc): Promise<CommunicationDoc | null> {
    return this.communications.findOneAndUpdate(
      { _id: id, state: 'draft', preferenceOverride: { $exists: false }, deletion: { $exists: false } },
      { $set: { preferenceOverride: override } },
      { returnDocument: 'after' },
    );
  }

  async lockResend(id: string, resendKey: string): Promise<CommunicationDoc | null> {
    return this.communications.findOneAndUpdate(
      { _id: id, state: 'sent', resendInProgress: { $exists: false } },
      { $set: { resendInProgress: resendKey } },
      { returnDocument: 'after' },
    );
  }

  async unlockResend(id: string, resendKey: string): Promise<void> {
    await this.communications.updateOne({ _id: id, resendInProgress: resendKey }, { $unset: { resendInProgress: '' } });
  }

  async listResending(): Promise<CommunicationDoc[]> {
    return this.communications.find({ resendInProgress: { $exists: true } }).toArray(); // index resendInProgress
  }

  async insertResend(doc: ResendDoc): Promise<boolean> {
    try {
      await this.resends.insertOne(doc);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async getResend(id: string): Promise<ResendDoc | null> {
    return this.resends.findOne({ _id: id });
  }

  async finishResend(id: string, resentCount: number, at: Date): Promise<ResendDoc | null> {
    return this.resends.findOneAndUpdate(
      { _id: id },
      { $set: { state: 'done', resentCount, finishedAt: at } },
      { returnDocument: 'after' },
    );
  }

  async progressResend(
    id: string,
    progress: { resentCount: number; examined: number; total: number; problem?: string },
  ): Promise<void> {
    const { problem, ...counts } = progress;
    const update = problem === undefined ? { $set: counts, $unset: { problem: '' as const } } : { $set: progress };
    await this.resends.updateOne({ _id: id, state: 'running' }, update);
  }

  async setAttempts(attempts: readonly { deliveryId: string; attempt: number }[], resendKey: string): Promise<void> {
    // index: _id. In the store's bulk size: one command of 100 updates deadlocks a stock FerretDB v1.
    for (let from = 0; from < attempts.length; from += this.store.bulkSize) {
      await this.deliveries.bulkWrite(
        attempts.slice(from, from + this.store.bulkSize).map((a) => ({
          updateOne: {
            filter: { _id: a.deliveryId },
            update: { $set: { attempt: a.attempt, lastResendId: resendKey } },
          },
        })),
        { ordered: false },
      );
    }
  }

  async recipientKeysAt(channel: ChannelName, address: string, limit: number): Promise<string[]> {
    const keys = new Set<string>();
    // index channel_address (one delivery per communication the address was in)
    const cursor = this.deliveries.find({ channel, address }, { projection: { recipientKey: 1 } }).batchSize(1_000);
    for await (const d of cursor) {
      keys.add(d.recipientKey);
      if (keys.size >= limit) break;
    }
    await cursor.close();
    return [...keys];
  }

  async deliveriesOf(
    keys: readonly string[],
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<DeliveryDoc[]> {
    const recipientKey = keys.length === 1 ? keys[0]! : { $in: [...keys] };
    const filter = after
      ? {
          recipientKey,
          $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }],
        }
      : { recipientKey };
    // index recipientKey_createdAt_id
    return this.deliveries.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
  }

  async recipientDeliveries(
    recipientKey: string,
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<DeliveryDoc[]> {
    const filter = after
      ? {
          recipientKey,
          $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }],
        }
      : { recipientKey };
    // index recipientKey_createdAt_id
    return this.deliveries.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
  }
}
