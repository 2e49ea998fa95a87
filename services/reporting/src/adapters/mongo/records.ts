// Delivery records and their timelines in MongoDB (or FerretDB v1). Every write is a single-document
// operation addressed by `_id`; the rank rule of @dlr/status-engine (`rankEvent`) is encoded in the
// filter of one conditional update.
import { ensureIndexes, isDuplicateKeyError } from '@dlr/platform';
import {
  countsFromLaneGroups,
  flagOf,
  isStatusKey,
  laneOf,
  normalizeFlags,
  observationOf,
  PENDING,
  STATUSES,
  type LaneGroup,
  type Observation,
  type RecordFlag,
  type StatusCounts,
  type StatusKey,
} from '@dlr/status-engine';
import type { Collection, Db, Filter, UpdateFilter } from 'mongodb';
import type {
  AddedDelivery,
  ChannelKey,
  DeliveryEventIn,
  DeliveryRecordRow,
  EventSourceKey,
  TimelineEntry,
} from '../../domain/model.js';

/** Collection of delivery records, `_id` = delivery ID. */
export const RECORDS = 'delivery_records';
/** Collection of every event received, `_id` = event ID (the dedupe key). */
export const EVENTS = 'delivery_events';

/** One lane of a record (see the engine's `RankState`). */
export interface ObservationDoc {
  status: StatusKey;
  rank: number;
  tie: string;
  eventId: string;
  response: string;
  reasonCode: string;
  reasonText: string;
}

/** A delivery record as stored. */
export interface RecordDoc {
  _id: string;
  communicationId: string;
  channel: ChannelKey | null;
  recipientName: string;
  address: string;
  /** The latest send attempt seen (0 before the first). */
  attempt: number;
  /** Best event of that attempt. */
  send: ObservationDoc;
  /** Best event not tied to an attempt (human actions). */
  human: ObservationDoc;
  /** Complaint / permanent bounce seen (a set; absent on records written before flags existed). */
  flags?: RecordFlag[];
  createdAt: Date;
  updatedAt: Date;
}

/** An event as stored in the timeline. */
export interface EventDoc {
  _id: string;
  deliveryId: string;
  communicationId: string;
  status: StatusKey;
  source: EventSourceKey;
  provider: string;
  providerEventType: string;
  providerMessageId: string;
  reasonCode: string;
  reasonText: string;
  attempt: number;
  occurredAt: Date | null;
  receivedAt: Date;
  response: string;
}

/** Creates the indexes every query below names; idempotent. */
export async function migrateRecords(db: Db): Promise<void> {
  await ensureIndexes(db, RECORDS, [{ key: { communicationId: 1, _id: 1 }, name: 'communicationId_id' }]);
  await ensureIndexes(db, EVENTS, [
    { key: { deliveryId: 1, receivedAt: 1, _id: 1 }, name: 'deliveryId_receivedAt_id' },
  ]);
}

function laneDoc(o: Observation): ObservationDoc {
  return { ...o };
}

/**
 * The filter that matches a record only when the event changes one of its lanes — the lane rule
 * of the engine's `rankEvent`, written as a query. Keep the two in step: test/rank-consistency runs
 * the same events through both. Throws for an event that ranks nowhere (`laneOf` = 'none').
 */
export function eventFilter(event: DeliveryEventIn): Filter<RecordDoc> {
  const o = observationOf(event);
  switch (laneOf(event)) {
    case 'human':
      return {
        _id: event.deliveryId,
        $or: [{ 'human.rank': { $lt: o.rank } }, { 'human.rank': o.rank, 'human.tie': { $lt: o.tie } }],
      };
    case 'send':
      return {
        _id: event.deliveryId,
        $or: [
          { attempt: { $lt: event.attempt } },
          { attempt: event.attempt, 'send.rank': { $lt: o.rank } },
          { attempt: event.attempt, 'send.rank': o.rank, 'send.tie': { $lt: o.tie } },
        ],
      };
    case 'none':
      throw new Error(`event ${event.eventId} ranks nowhere (suspected bot): it has no filter`);
  }
}

function insertFields(event: DeliveryEventIn, now: Date) {
  return {
    communicationId: event.communicationId,
    channel: event.channel ?? null,
    recipientName: '',
    address: '',
    flags: [],
    createdAt: now,
  };
}

/**
 * The update that applies an event to a record's lanes (creating it, Pending otherwise, when
 * absent). Throws for an event that ranks nowhere.
 */
export function eventUpdate(event: DeliveryEventIn, now: Date): UpdateFilter<RecordDoc> {
  const o = laneDoc(observationOf(event));
  const onInsert = insertFields(event, now);
  switch (laneOf(event)) {
    case 'human':
      return { $set: { human: o, updatedAt: now }, $setOnInsert: { ...onInsert, attempt: 0, send: laneDoc(PENDING) } };
    case 'send':
      return {
        $set: { attempt: event.attempt, send: o, updatedAt: now },
        $setOnInsert: { ...onInsert, human: laneDoc(PENDING) },
      };
    case 'none':
      throw new Error(`event ${event.eventId} ranks nowhere (suspected bot): it has no update`);
  }
}

/** Reads and writes delivery records and their events. */
export class RecordsRepository {
  readonly #records: Collection<RecordDoc>;
  readonly #events: Collection<EventDoc>;

  constructor(db: Db) {
    this.#records = db.collection<RecordDoc>(RECORDS);
    this.#events = db.collection<EventDoc>(EVENTS);
  }

  /**
   * Makes sure each delivery exists and carries its recipient fields, without touching its status
   * (an event may have created it already). One unordered bulk of upserts by `_id`.
   */
  async upsertRecipients(communicationId: string, deliveries: readonly AddedDelivery[], now: Date): Promise<void> {
    if (deliveries.length === 0) return;
    const ops = deliveries.map((d) => ({
      updateOne: {
        // index: _id
        filter: { _id: d.deliveryId },
        update: {
          $set: { communicationId, channel: d.channel, recipientName: d.recipientName, address: d.address },
          $setOnInsert: {
            attempt: 0,
            send: laneDoc(PENDING),
            human: laneDoc(PENDING),
            flags: [],
            createdAt: now,
            updatedAt: now,
          },
        },
        upsert: true,
      },
    }));
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#records.bulkWrite(ops, { ordered: false });
        return;
      } catch (error) {
        // Two upserts of one new `_id` at once: one inserts, the other fails; running again matches.
        if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
      }
    }
  }

  /**
   * Applies an event to its record as the engine's `rankEvent` does (upsert: the event may come
   * before `RecipientsAdded`): one conditional update of the lanes, then, for a complaint or
   * permanent bounce, one `$addToSet` of its flag. An event that ranks nowhere (a suspected bot)
   * only makes sure the record exists. Returns true when the ranked state changed.
   */
  async applyEvent(event: DeliveryEventIn, now: Date): Promise<boolean> {
    const ranked = laneOf(event) === 'none' ? await this.#ensureRecord(event, now) : await this.#rank(event, now);
    const flag = flagOf(event);
    if (flag === undefined) return ranked;
    // index: _id (the record exists now: the update above created it if it was absent)
    const flagged = await this.#records.updateOne(
      { _id: event.deliveryId, flags: { $ne: flag } },
      { $addToSet: { flags: flag }, $set: { updatedAt: now } },
    );
    return ranked || flagged.modifiedCount > 0;
  }

  /** Creates the record, Pending, if it does not exist; never changes one. Returns false. */
  async #ensureRecord(event: DeliveryEventIn, now: Date): Promise<false> {
    try {
      // index: _id
      await this.#records.updateOne(
        { _id: event.deliveryId },
        {
          $setOnInsert: {
            ...insertFields(event, now),
            attempt: 0,
            send: laneDoc(PENDING),
            human: laneDoc(PENDING),
            updatedAt: now,
          },
        },
        { upsert: true },
      );
    } catch (error) {
      // Created by someone else in between: it exists, which is all this wanted.
      if (!isDuplicateKeyError(error)) throw error;
    }
    return false;
  }

  /** The conditional update of the lanes; true when it changed or created the record. */
  async #rank(event: DeliveryEventIn, now: Date): Promise<boolean> {
    const filter = eventFilter(event);
    const update = eventUpdate(event, now);
    try {
      // index: _id (the rest of the filter is evaluated on that one document)
      const result = await this.#records.updateOne(filter, update, { upsert: true });
      return result.modifiedCount + result.upsertedCount > 0;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // The record exists and the filter did not match it — or it was created between our read and
      // our insert. Now that it surely exists, the same update without upsert decides.
      // index: _id
      const result = await this.#records.updateOne(filter, update);
      return result.modifiedCount > 0;
    }
  }

  /** Adds an event to the timeline; false when it was already there (a redelivery). */
  async recordEvent(event: DeliveryEventIn): Promise<boolean> {
    const doc: EventDoc = {
      _id: event.eventId,
      deliveryId: event.deliveryId,
      communicationId: event.communicationId,
      status: event.status,
      source: event.source,
      provider: event.provider,
      providerEventType: event.providerEventType,
      providerMessageId: event.providerMessageId,
      reasonCode: event.reasonCode,
      reasonText: event.reasonText,
      attempt: event.attempt,
      occurredAt: event.occurredAt ?? null,
      receivedAt: event.receivedAt,
      response: event.response,
    };
    try {
      // index: _id (unique)
      await this.#events.insertOne(doc);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /**
   * Counts a communication's records per shown status, every status present. Exact after any
   * crash (it reads the records themselves); grouping by the pair of lane statuses, folded here.
   */
  async countByStatus(communicationId: string): Promise<StatusCounts> {
    // index: communicationId_id
    const groups = await this.#records
      .aggregate<{ _id: { send: unknown; human: unknown }; count: number }>([
        { $match: { communicationId } },
        { $group: { _id: { send: '$send.status', human: '$human.status' }, count: { $sum: 1 } } },
      ])
      .toArray();
    return countsFromLaneGroups(
      groups.map((g): LaneGroup => ({ send: statusKey(g._id.send), human: statusKey(g._id.human), count: g.count })),
    );
  }

  /** Up to `limit` records of a communication with `_id` after `afterId`, in `_id` order. */
  async page(communicationId: string, afterId: string | undefined, limit: number): Promise<DeliveryRecordRow[]> {
    const filter: Filter<RecordDoc> =
      afterId === undefined ? { communicationId } : { communicationId, _id: { $gt: afterId } };
    // index: communicationId_id
    const docs = await this.#records.find(filter).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map(toRow);
  }

  /** One record, or undefined. */
  async get(deliveryId: string): Promise<DeliveryRecordRow | undefined> {
    // index: _id
    const doc = await this.#records.findOne({ _id: deliveryId });
    return doc === null ? undefined : toRow(doc);
  }

  /** A record's events, oldest received first. */
  async timeline(deliveryId: string): Promise<TimelineEntry[]> {
    // index: deliveryId_receivedAt_id
    const docs = await this.#events.find({ deliveryId }).sort({ receivedAt: 1, _id: 1 }).toArray();
    return docs.map((d) => ({
      eventId: d._id,
      status: statusKey(d.status),
      source: d.source,
      provider: d.provider,
      providerEventType: d.providerEventType,
      providerMessageId: d.providerMessageId ?? '',
      reasonCode: d.reasonCode,
      reasonText: d.reasonText,
      attempt: d.attempt,
      response: d.response,
      occurredAt: d.occurredAt ?? null,
      receivedAt: d.receivedAt,
    }));
  }
}

function statusKey(value: unknown): StatusKey {
  if (!isStatusKey(value)) throw new Error(`stored status ${JSON.stringify(value)} is not a status key`);
  return value;
}

function lane(doc: ObservationDoc | undefined): Observation {
  if (doc === undefined) return PENDING;
  const status = statusKey(doc.status);
  return {
    status,
    rank: STATUSES[status].rank,
    tie: doc.tie ?? '',
    eventId: doc.eventId ?? '',
    response: doc.response ?? '',
    reasonCode: doc.reasonCode ?? '',
    reasonText: doc.reasonText ?? '',
  };
}

function toRow(doc: RecordDoc): DeliveryRecordRow {
  return {
    id: doc._id,
    communicationId: doc.communicationId,
    channel: doc.channel ?? null,
    recipientName: doc.recipientName ?? '',
    address: doc.address ?? '',
    state: {
      attempt: doc.attempt ?? 0,
      send: lane(doc.send),
      human: lane(doc.human),
      flags: normalizeFlags(doc.flags ?? []),
    },
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}
