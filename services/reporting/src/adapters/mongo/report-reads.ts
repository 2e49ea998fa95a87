// The reads behind the two reports: filtered pages, ID lists, CSV rows, changes since a time and
// totals per channel × status. Every filter is built here from validated values (status keys,
// channel keys, strings matched literally, dates) — an operator's input never reaches MongoDB as an
// object or an operator. Each query names the MongoDB index that serves it.
//
// FerretDB v1 (SQLite) pushes down only a bare `{_id: …}` filter: every query below scans the
// collection there, which is what bench/reports measures beside the bare driver's "store floor".
import { ensureIndexes, storeProfile, type StoreProfile } from '@dlr/platform';
import { isStatusKey, normalizeFlags, PENDING, STATUSES, type Observation, type StatusKey } from '@dlr/status-engine';
import type { Collection, Db, Document, Filter } from 'mongodb';
import type { ChannelKey, DeliveryRecordRow } from '../../domain/model.js';
import { RECORDS, type ObservationDoc, type RecordDoc } from './records.js';

/** What the reports may filter records by; every field already validated. */
export interface RecordQuery {
  /** One communication (the Delivery Report; optional in the Message Delivery Report). */
  readonly communicationId?: string | undefined;
  /** Any of these shown statuses (none: every status). */
  readonly statuses?: readonly StatusKey[] | undefined;
  /** Any of these channels (none: both). */
  readonly channels?: readonly ChannelKey[] | undefined;
  /** Exactly this response. */
  readonly response?: string | undefined;
  /** Text the recipient's name or address contains (case-insensitive, matched literally). */
  readonly search?: string | undefined;
  /** Records created at or after this time. */
  readonly from?: Date | undefined;
  /** Records created before this time. */
  readonly to?: Date | undefined;
}

/** Records whose shown status or response changed, oldest change first. */
export interface ChangedRows {
  readonly rows: DeliveryRecordRow[];
  /** True when there were more than were returned (ask again from the last row's `updatedAt`). */
  readonly more: boolean;
}

/** One cell of the channel × status totals. */
export interface ChannelStatusTotal {
  readonly channel: ChannelKey | 'unknown';
  readonly status: StatusKey;
  readonly count: number;
}

/** Indexes of the report queries (see each query's `index:` comment). */
export const REPORT_INDEXES = [
  // Delivery Report filtered by status (`$in` over statuses is a SORT_MERGE in `_id` order).
  { key: { communicationId: 1, status: 1, _id: 1 }, name: 'communicationId_status_id' },
  // Delivery Report filtered by response.
  { key: { communicationId: 1, response: 1, _id: 1 }, name: 'communicationId_response_id' },
  // Live updates: what changed in a communication since a time.
  { key: { communicationId: 1, updatedAt: 1, _id: 1 }, name: 'communicationId_updatedAt_id' },
  // Message Delivery Report by date range.
  { key: { createdAt: 1, _id: 1 }, name: 'createdAt_id' },
] as const;

/** Creates the report queries' indexes; idempotent. */
export async function migrateReportReads(db: Db): Promise<void> {
  await ensureIndexes(
    db,
    RECORDS,
    REPORT_INDEXES.map((i) => ({ key: { ...i.key }, name: i.name })),
  );
}

/** Fields a report row needs (never the timeline or the outbox); the reports bench reads with it too. */
export const ROW_PROJECTION = {
  _id: 1,
  communicationId: 1,
  channel: 1,
  recipientName: 1,
  address: 1,
  attempt: 1,
  send: 1,
  human: 1,
  flags: 1,
  createdAt: 1,
  updatedAt: 1,
} as const;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * The MongoDB filter of a query (`afterId`: only records with a greater `_id`). Built only from
 * validated scalars; exported so the bench runs the very same filter on the bare driver.
 */
export function recordFilter(q: RecordQuery, afterId?: string): Filter<RecordDoc> {
  const filter: Filter<RecordDoc> = {};
  if (q.communicationId !== undefined) filter.communicationId = String(q.communicationId);
  if (afterId !== undefined) filter._id = { $gt: String(afterId) };
  if (q.statuses?.length) {
    const statuses = q.statuses.filter(isStatusKey);
    filter.status = statuses.length === 1 ? statuses[0]! : { $in: statuses };
  }
  if (q.channels?.length) {
    const channels = q.channels.filter((c) => c === 'email' || c === 'sms');
    filter.channel = channels.length === 1 ? channels[0]! : { $in: channels };
  }
  if (q.response !== undefined) filter.response = String(q.response);
  if (q.from !== undefined || q.to !== undefined) {
    filter.createdAt = {
      ...(q.from !== undefined ? { $gte: new Date(q.from.getTime()) } : {}),
      ...(q.to !== undefined ? { $lt: new Date(q.to.getTime()) } : {}),
    };
  }
  if (q.search !== undefined && q.search !== '') {
    const pattern = escapeRegex(String(q.search));
    filter.$or = [
      { recipientName: { $regex: pattern, $options: 'i' } },
      { address: { $regex: pattern, $options: 'i' } },
    ];
  }
  return filter;
}

/** The index that serves a query on MongoDB (what the bench and the docs name). */
export function indexFor(q: RecordQuery): string {
  if (q.communicationId === undefined) return q.from || q.to ? 'createdAt_id' : '_id_';
  if (q.statuses?.length) return 'communicationId_status_id';
  if (q.response !== undefined) return 'communicationId_response_id';
  return 'communicationId_id';
}

/** Reads of the two reports. */
export class ReportReads {
  readonly #records: Collection<RecordDoc>;
  readonly #hints: boolean;

  /**
   * On servers that plan with indexes (`store.indexedQueries`) every query names its index as a
   * hint: a planner that picks another index sharing the `communicationId` prefix (FerretDB v2 did)
   * sorts every record of the communication for one page. FerretDB v1 gets no hints (it has no
   * planner to steer).
   */
  constructor(db: Db, store: StoreProfile = storeProfile(undefined)) {
    this.#records = db.collection<RecordDoc>(RECORDS);
    this.#hints = store.indexedQueries;
  }

  #find(q: RecordQuery, afterId: string | undefined, projection: Document) {
    const cursor = this.#records.find(recordFilter(q, afterId), { projection }).sort({ _id: 1 });
    return this.#hints ? cursor.hint(indexFor(q)) : cursor;
  }

  /**
   * Up to `limit` records matching the query with `_id` after `afterId`, in `_id` order.
   * index: see {@link indexFor} (communicationId_id, communicationId_status_id, …, createdAt_id).
   */
  async page(q: RecordQuery, afterId: string | undefined, limit: number): Promise<DeliveryRecordRow[]> {
    const docs = await this.#find(q, afterId, ROW_PROJECTION).limit(limit).toArray();
    return docs.map(toRow);
  }

  /** IDs of every record matching the query, in `_id` order (index: see {@link indexFor}). */
  async *ids(q: RecordQuery): AsyncGenerator<string> {
    const cursor = this.#find(q, undefined, { _id: 1 }).batchSize(5_000);
    for await (const doc of cursor) yield doc._id;
  }

  /** Every record matching the query, in `_id` order, streamed (index: see {@link indexFor}). */
  async *rows(q: RecordQuery): AsyncGenerator<DeliveryRecordRow> {
    const cursor = this.#find(q, undefined, ROW_PROJECTION).batchSize(2_000);
    for await (const doc of cursor) yield toRow(doc);
  }

  /**
   * Records of a communication updated at or after `since`, oldest update first, at most `limit`.
   * index: communicationId_updatedAt_id
   */
  async changedSince(communicationId: string, since: Date, limit: number): Promise<ChangedRows> {
    const cursor = this.#records
      .find({ communicationId: String(communicationId), updatedAt: { $gte: since } }, { projection: ROW_PROJECTION })
      .sort({ updatedAt: 1, _id: 1 })
      .limit(limit + 1);
    const docs = await (this.#hints ? cursor.hint('communicationId_updatedAt_id') : cursor).toArray();
    return { rows: docs.slice(0, limit).map(toRow), more: docs.length > limit };
  }

  /**
   * Records matching the query per channel and shown status (cells with a count only).
   * index: see {@link indexFor}; on MongoDB the `$group` reads every matching record.
   */
  async totals(q: RecordQuery): Promise<ChannelStatusTotal[]> {
    const groups = await this.#records
      .aggregate<{ _id: { channel: unknown; status: unknown }; count: number }>(
        [
          { $match: recordFilter(q) as Document },
          { $group: { _id: { channel: '$channel', status: '$status' }, count: { $sum: 1 } } },
        ],
        this.#hints ? { hint: indexFor(q) } : {},
      )
      .toArray();
    const out: ChannelStatusTotal[] = [];
    for (const g of groups) {
      const status = isStatusKey(g._id.status) ? g._id.status : 'pending';
      const channel = g._id.channel === 'email' || g._id.channel === 'sms' ? g._id.channel : 'unknown';
      const same = out.find((t) => t.channel === channel && t.status === status);
      if (same) out[out.indexOf(same)] = { ...same, count: same.count + g.count };
      else out.push({ channel, status, count: g.count });
    }
    return out;
  }
}

function lane(doc: ObservationDoc | undefined): Observation {
  if (doc === undefined || !isStatusKey(doc.status)) return PENDING;
  return {
    status: doc.status,
    rank: STATUSES[doc.status].rank,
    tie: doc.tie ?? '',
    eventId: doc.eventId ?? '',
    response: doc.response ?? '',
    reasonCode: doc.reasonCode ?? '',
    reasonText: doc.reasonText ?? '',
  };
}

function toRow(doc: Pick<RecordDoc, keyof typeof ROW_PROJECTION>): DeliveryRecordRow {
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
