import { isDuplicateKeyError, type MongoHandle } from '@dlr/platform';
import type { Collection, MongoBulkWriteError } from 'mongodb';
import type { CommunicationDoc, DeliveryDoc } from '../../domain/model.js';
import type { CommunicationStore } from '../../domain/ports.js';

const PAGE = 1_000;

/** The collections this service owns. */
export const COLLECTIONS = { communications: 'communications', deliveries: 'deliveries' } as const;

/** Creates this service's indexes (idempotent). */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await mongo.db.collection(COLLECTIONS.deliveries).createIndexes([
    // streamDeliveries, countDeliveries: equality on communicationId, range on _id.
    { key: { communicationId: 1, _id: 1 }, name: 'communicationId_id' },
  ]);
  await mongo.db.collection(COLLECTIONS.communications).createIndexes([
    // listSending: equality on state.
    { key: { state: 1 }, name: 'state' },
  ]);
}

/** {@link CommunicationStore} over MongoDB; every write is a single-document operation. */
export class MongoCommunicationStore implements CommunicationStore {
  private readonly communications: Collection<CommunicationDoc>;
  private readonly deliveries: Collection<DeliveryDoc>;

  constructor(mongo: MongoHandle) {
    this.communications = mongo.db.collection<CommunicationDoc>(COLLECTIONS.communications);
    this.deliveries = mongo.db.collection<DeliveryDoc>(COLLECTIONS.deliveries);
  }

  async insertCommunication(doc: CommunicationDoc): Promise<void> {
    await this.communications.insertOne(doc);
  }

  async getCommunication(id: string): Promise<CommunicationDoc | null> {
    return this.communications.findOne({ _id: id });
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
    // One _id lookup each: the only filter FerretDB's SQLite backend pushes down to storage.
    const found = await Promise.all(ids.map((id) => this.deliveries.findOne({ _id: id })));
    return found.filter((d): d is DeliveryDoc => d !== null);
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
    return this.communications.findOneAndUpdate(
      { _id: id, state: from },
      { $set: { state: to, ...stamp } },
      { returnDocument: 'after' },
    );
  }

  async listSending(): Promise<string[]> {
    const docs = await this.communications.find({ state: 'sending' }, { projection: { _id: 1 } }).toArray(); // index state
    return docs.map((d) => d._id);
  }
}
