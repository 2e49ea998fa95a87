import type { MongoHandle } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { SuppressionEntry, SuppressionListStore } from '../../domain/suppression-list.js';
import { SUPPRESSIONS } from './suppressions.js';

/** {@link SuppressionListStore} over communication's replica of the suppression list. */
export class MongoSuppressionList implements SuppressionListStore {
  private readonly suppressions: Collection<SuppressionEntry>;

  constructor(mongo: MongoHandle) {
    this.suppressions = mongo.db.collection<SuppressionEntry>(SUPPRESSIONS);
  }

  async byKey(key: string): Promise<SuppressionEntry | null> {
    return this.suppressions.findOne({ _id: key }); // index: _id
  }

  async page(limit: number, after?: { at: Date; id: string }): Promise<SuppressionEntry[]> {
    const filter = after
      ? { $or: [{ suppressedAt: { $lt: after.at } }, { suppressedAt: after.at, _id: { $lt: after.id } }] }
      : {};
    // An operator's page over the whole list (admin, rare): sorted scan.
    return this.suppressions.find(filter).sort({ suppressedAt: -1, _id: -1 }).limit(limit).toArray();
  }
}
