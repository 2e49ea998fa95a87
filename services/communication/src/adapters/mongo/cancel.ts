import type { MongoHandle } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { CancelStore } from '../../domain/cancel.js';
import type { CancellationDoc, CommunicationDoc } from '../../domain/model.js';
import { COLLECTIONS } from './store.js';

/** {@link CancelStore} over the communications collection (single-document writes by `_id`). */
export class MongoCancelStore implements CancelStore {
  private readonly communications: Collection<CommunicationDoc>;

  constructor(mongo: MongoHandle) {
    this.communications = mongo.db.collection<CommunicationDoc>(COLLECTIONS.communications);
  }

  async getCommunication(id: string): Promise<CommunicationDoc | null> {
    return this.communications.findOne({ _id: id });
  }

  async setCancellation(id: string, cancellation: CancellationDoc): Promise<CommunicationDoc | null> {
    return this.communications.findOneAndUpdate(
      { _id: id, state: { $in: ['sending', 'sent'] }, cancellation: { $exists: false } },
      { $set: { cancellation } },
      { returnDocument: 'after' },
    );
  }
}
