import { suppressionKey, type SuppressionEntry, type SuppressionFact, type SuppressionReason } from '@dlr/contracts';
import { findByIds, insertFirstEach, type MongoHandle, type StoreProfile } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { DeliveryDoc } from '../../domain/model.js';
import type { SuppressionLookup } from '../../domain/ports.js';

/** Communication's own replica of the suppression list (`_id` = suppression key, never the address). */
export const SUPPRESSIONS = 'suppressions';
/** One document counting the replica's changes (a preview summary of another revision is out of date). */
export const SUPPRESSIONS_REVISION = 'suppressions_revision';
const REVISION_ID = 'revision';

/**
 * {@link SuppressionLookup} over communication's replica, fed by delivery events and emptied by
 * lifts. Every read and write is by `_id` (the only filter FerretDB's SQLite backend pushes down).
 */
export class MongoSuppressions implements SuppressionLookup {
  private readonly suppressions: Collection<SuppressionEntry>;
  private readonly revisions: Collection<{ _id: string; n: number }>;
  private readonly store: StoreProfile;

  constructor(mongo: MongoHandle) {
    this.suppressions = mongo.db.collection<SuppressionEntry>(SUPPRESSIONS);
    this.revisions = mongo.db.collection<{ _id: string; n: number }>(SUPPRESSIONS_REVISION);
    this.store = mongo.store;
  }

  async revision(): Promise<number> {
    return (await this.revisions.findOne({ _id: REVISION_ID }))?.n ?? 0;
  }

  /** Counts a change (raised after it, so a summary that started before it is out of date). */
  private async changed(): Promise<void> {
    await this.revisions.updateOne({ _id: REVISION_ID }, { $inc: { n: 1 } }, { upsert: true });
  }

  async suppressed(deliveries: readonly DeliveryDoc[]): Promise<ReadonlyMap<string, SuppressionReason>> {
    // A delivery without an address is not suppressed: the preview reports it as missing.
    const byKey = new Map<string, string[]>();
    for (const d of deliveries) {
      if (d.address.trim() === '') continue;
      const key = suppressionKey(d.channel, d.address);
      const ids = byKey.get(key);
      if (ids) ids.push(d._id);
      else byKey.set(key, [d._id]);
    }
    const out = new Map<string, SuppressionReason>();
    const found = await findByIds(this.suppressions, [...byKey.keys()], { projection: { _id: 1, reason: 1 } });
    for (const doc of found) for (const id of byKey.get(doc._id) ?? []) out.set(id, doc.reason);
    return out;
  }

  /**
   * Suppresses the addresses of these deliveries in one unordered bulk of upserts; a repeat keeps
   * the first suppression. Per entry: false when the delivery has no address (nothing to
   * suppress), true once suppressed, or the `Error` that entry alone met.
   */
  async suppressDeliveries(
    items: readonly {
      delivery: Pick<DeliveryDoc, '_id' | 'communicationId' | 'channel' | 'address'>;
      fact: Omit<SuppressionFact, 'communicationId'>;
    }[],
  ): Promise<(boolean | Error)[]> {
    const outcomes: (boolean | Error)[] = items.map(({ delivery }) => delivery.address.trim() !== '');
    const writes = items.flatMap((_, i) => (outcomes[i] ? [i] : [])); // the item of each write
    const entries = writes.map((i): SuppressionEntry => {
      const { delivery, fact } = items[i]!;
      return {
        _id: suppressionKey(delivery.channel, delivery.address),
        channel: delivery.channel,
        reason: fact.reason,
        eventId: fact.eventId,
        deliveryId: delivery._id,
        communicationId: delivery.communicationId,
        suppressedAt: fact.suppressedAt,
      };
    });
    const failed = await insertFirstEach(this.suppressions, entries, this.store);
    if (entries.length > 0) await this.changed();
    failed.forEach((error, w) => {
      if (error !== undefined) outcomes[writes[w]!] = error;
    });
    return outcomes;
  }

  /** Removes a suppression by its key; true when there was one. Idempotent. */
  async lift(key: string): Promise<boolean> {
    const { deletedCount } = await this.suppressions.deleteOne({ _id: key });
    if (deletedCount > 0) await this.changed();
    return deletedCount > 0;
  }
}
