import { suppressionKey, type SuppressionReason } from '@dlr/contracts';
import { bulkWriteEach, findByIds, type MongoHandle, type StoreProfile } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { ChannelName, DeliveryDoc } from '../../domain/model.js';
import type { SuppressionLookup } from '../../domain/ports.js';

/** Communication's own replica of the suppression list (`_id` = suppression key, never the address). */
export const SUPPRESSIONS = 'suppressions';

/** One suppressed address, as its key. */
export interface SuppressionDoc {
  /** `suppressionKey(channel, address)`: a hash of channel and normalized address. */
  _id: string;
  channel: ChannelName;
  reason: SuppressionReason;
  /** The event that suppressed it (the first one wins). */
  eventId: string;
  deliveryId: string;
  communicationId: string;
  suppressedAt: Date;
}

/**
 * {@link SuppressionLookup} over communication's replica, fed by delivery events and emptied by
 * lifts. Every read and write is by `_id` (the only filter FerretDB's SQLite backend pushes down).
 */
export class MongoSuppressions implements SuppressionLookup {
  private readonly suppressions: Collection<SuppressionDoc>;
  private readonly store: StoreProfile;

  constructor(mongo: MongoHandle) {
    this.suppressions = mongo.db.collection<SuppressionDoc>(SUPPRESSIONS);
    this.store = mongo.store;
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
  async suppressMany(
    entries: readonly {
      delivery: Pick<DeliveryDoc, '_id' | 'communicationId' | 'channel' | 'address'>;
      fact: { reason: SuppressionReason; eventId: string; suppressedAt: Date };
    }[],
  ): Promise<(boolean | Error)[]> {
    const outcomes: (boolean | Error)[] = entries.map(({ delivery }) => delivery.address.trim() !== '');
    const writes = entries.flatMap((_, i) => (outcomes[i] ? [i] : []));
    const failed = await bulkWriteEach(
      this.suppressions,
      writes.map((i) => {
        const { delivery, fact } = entries[i]!;
        return {
          updateOne: {
            // index: _id
            filter: { _id: suppressionKey(delivery.channel, delivery.address) },
            update: {
              $setOnInsert: {
                channel: delivery.channel,
                reason: fact.reason,
                eventId: fact.eventId,
                deliveryId: delivery._id,
                communicationId: delivery.communicationId,
                suppressedAt: fact.suppressedAt,
              },
            },
            upsert: true,
          },
        };
      }),
      this.store,
      { duplicateKeyIsSuccess: true },
    );
    failed.forEach((error, w) => {
      if (error !== undefined) outcomes[writes[w]!] = error;
    });
    return outcomes;
  }

  /** Removes a suppression by its key; true when there was one. Idempotent. */
  async lift(key: string): Promise<boolean> {
    const { deletedCount } = await this.suppressions.deleteOne({ _id: key });
    return deletedCount > 0;
  }
}
