import { passedByOverride, suppressionKey, type SuppressionEntry, type SuppressionFact } from '@dlr/contracts';
import { findByIds, insertSuppressions, type MongoHandle, type StoreProfile } from '@dlr/platform';
import type { Collection, MongoBulkWriteError, WriteError } from 'mongodb';
import type { SuppressionList } from '../../domain/dispatcher.js';
import type { ChannelName } from '../../domain/provider.js';

/** Documents per `insertMany` (plain inserts are fast in large bulks on every store) and per `$in` read. */
const INSERT_BULK = 500;

/** Dispatch's replica of the suppression list (`_id` = suppression key, never the address). */
export const SUPPRESSIONS = 'suppressions';
/** `_id` = delivery ID → the suppression key of the address it was sent to. */
export const DELIVERY_ADDRESSES = 'delivery_addresses';

/** Which address (as its key) a delivery record was sent to. */
export interface DeliveryAddressDoc {
  _id: string;
  key: string;
  channel: ChannelName;
}

/**
 * Dispatch's own suppression replica on MongoDB, every read and write by `_id`: fed by opt-outs,
 * complaints and permanent bounces (through NATS), emptied by lifts from the communication API.
 */
export class MongoSuppressions implements SuppressionList {
  private readonly suppressions: Collection<SuppressionEntry>;
  private readonly addresses: Collection<DeliveryAddressDoc>;
  private readonly store: StoreProfile;

  constructor(mongo: MongoHandle) {
    this.suppressions = mongo.db.collection<SuppressionEntry>(SUPPRESSIONS);
    this.addresses = mongo.db.collection<DeliveryAddressDoc>(DELIVERY_ADDRESSES);
    this.store = mongo.store;
  }

  async isSuppressed(channel: ChannelName, address: string): Promise<boolean> {
    return (await this.suppressions.findOne({ _id: suppressionKey(channel, address) })) !== null;
  }

  async suppressedAmong(
    items: readonly { channel: ChannelName; address: string; preferencesOverridden?: boolean }[],
  ): Promise<boolean[]> {
    const keys = items.map((i) => suppressionKey(i.channel, i.address));
    const unique = [...new Set(keys)];
    const suppressed = new Map<string, Pick<SuppressionEntry, 'overridable'>>();
    for (let from = 0; from < unique.length; from += INSERT_BULK) {
      const found = await this.suppressions
        // index: _id
        .find({ _id: { $in: unique.slice(from, from + INSERT_BULK) } }, { projection: { _id: 1, overridable: 1 } })
        .toArray();
      for (const d of found) suppressed.set(d._id, d);
    }
    return keys.map((k, i) => {
      const entry = suppressed.get(k);
      if (entry === undefined) return false;
      // An emergency override passes an opt-out through a link, never a complaint, bounce or STOP.
      return !(items[i]!.preferencesOverridden === true && passedByOverride(entry));
    });
  }

  async rememberMany(items: readonly { deliveryId: string; channel: ChannelName; address: string }[]): Promise<void> {
    const docs = items.map(({ deliveryId, channel, address }) => ({
      _id: deliveryId,
      key: suppressionKey(channel, address),
      channel,
    }));
    // Inserts in large bulks (fast on every store); only a record already known (a resend) is replaced.
    const again: DeliveryAddressDoc[] = [];
    for (let from = 0; from < docs.length; from += INSERT_BULK) {
      const chunk = docs.slice(from, from + INSERT_BULK);
      try {
        await this.addresses.insertMany(chunk, { ordered: false });
      } catch (error) {
        const bulk = error as Partial<MongoBulkWriteError> | null;
        if (bulk?.name !== 'MongoBulkWriteError' || bulk.writeErrors === undefined) throw error;
        for (const w of ([] as WriteError[]).concat(bulk.writeErrors as WriteError | WriteError[])) {
          if (w.code !== 11000) throw new Error(`address key write failed: ${w.errmsg ?? w.code}`);
          again.push(chunk[w.index]!);
        }
      }
    }
    for (const { _id, key, channel } of again) {
      await this.addresses.replaceOne({ _id }, { key, channel }, { upsert: true });
    }
  }

  async remember(deliveryId: string, channel: ChannelName, address: string): Promise<void> {
    await this.addresses.replaceOne(
      { _id: deliveryId },
      { key: suppressionKey(channel, address), channel },
      { upsert: true },
    );
  }

  /**
   * Suppresses the addresses the delivery records were sent to: one read of the records' addresses
   * (by `_id`) and one unordered bulk of upserts (`$setOnInsert`: the first suppression of an
   * address stays). Returns, per item, true once its address is suppressed, false when dispatch
   * never sent that record (nothing to suppress), or the `Error` that item alone met.
   */
  async suppressDeliveries(
    items: readonly { deliveryId: string; fact: SuppressionFact }[],
  ): Promise<(boolean | Error)[]> {
    const ids = [...new Set(items.map((i) => i.deliveryId))];
    // index: _id
    const addresses = new Map((await findByIds(this.addresses, ids)).map((a) => [a._id, a]));
    const writes: number[] = []; // the item of each write
    const entries = items.flatMap(({ deliveryId, fact }, item): SuppressionEntry[] => {
      const address = addresses.get(deliveryId);
      if (!address) return [];
      writes.push(item);
      return [{ _id: address.key, channel: address.channel, deliveryId, ...fact }];
    });
    const failed = await insertSuppressions(this.suppressions, entries, this.store);
    const outcomes: (boolean | Error)[] = items.map((i) => addresses.has(i.deliveryId));
    failed.forEach((error, op) => {
      if (error !== undefined) outcomes[writes[op]!] = error;
    });
    return outcomes;
  }

  /** Lifts a suppression; true when there was one. */
  async lift(key: string): Promise<boolean> {
    const { deletedCount } = await this.suppressions.deleteOne({ _id: key });
    return deletedCount > 0;
  }
}
