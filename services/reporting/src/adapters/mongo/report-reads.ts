// The read side in MongoDB (the ReportReads port): counts, filtered pages, ID lists, CSV rows, single
// records, changes since a time and totals per channel × status. Every filter is built here from validated values (status keys,
// channel keys, strings matched literally, dates) — an operator's input never reaches MongoDB as an
// object or an operator. Each query names the MongoDB index that serves it.
//
// FerretDB v1 (SQLite) pushes down only a bare `{_id: …}` filter: every query below scans the
// collection there, which is what bench/reports measures beside the bare driver's "store floor".
import { REPORTING_PARTITIONS } from '@dlr/contracts';
import { ensureIndexes, findByIds, storeProfile, type StoreProfile } from '@dlr/platform';
import { emptyCounts, isStatusKey, type StatusCounts, type StatusKey } from '@dlr/status-engine';
import type { Collection, Db, Document, Filter } from 'mongodb';
import type { DeliveryRecordRow, TimelineEntry } from '../../domain/model.js';
import { decodeCountKey } from '../../domain/projection.js';
import type {
  ChangedRows,
  ChannelStatusTotal,
  CommunicationCounts,
  RecordQuery,
  ReportReads,
} from '../../domain/reads.js';
import {
  COUNTS,
  countsId,
  RECORDS,
  ROW_PROJECTION,
  statusKey,
  toRow,
  type CountsDoc,
  type RecordDoc,
} from './records.js';

/** Indexes of the report queries (see each query's `index:` comment). */
export const REPORT_INDEXES = [
  // Delivery Report filtered by status (`$in` over statuses is a SORT_MERGE in `_id` order).
  { key: { communicationId: 1, status: 1, _id: 1 }, name: 'communicationId_status_id' },
  // Delivery Report filtered by response.
  { key: { communicationId: 1, response: 1, _id: 1 }, name: 'communicationId_response_id' },
  // Live updates: what changed in a communication since a time.
  { key: { communicationId: 1, updatedAt: 1, _id: 1 }, name: 'communicationId_updatedAt_id' },
  // Message Delivery Report by date range (the date sent).
  { key: { sentAt: 1, _id: 1 }, name: 'sentAt_id' },
] as const;

/** Creates the report queries' indexes; idempotent. */
export async function migrateReportReads(db: Db): Promise<void> {
  await ensureIndexes(
    db,
    RECORDS,
    REPORT_INDEXES.map((i) => ({ key: { ...i.key }, name: i.name })),
  );
}

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
    // The date sent: a record not handed on yet has no `sentAt` and matches no date range.
    filter.sentAt = {
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
  if (q.communicationId === undefined) return q.from || q.to ? 'sentAt_id' : '_id_';
  if (q.statuses?.length) return 'communicationId_status_id';
  if (q.response !== undefined) return 'communicationId_response_id';
  return 'communicationId_id';
}

/** Reads of the two reports, the record page and live updates from MongoDB. */
export class MongoReportReads implements ReportReads {
  readonly #records: Collection<RecordDoc>;
  readonly #counts: Collection<CountsDoc>;
  readonly #hints: boolean;

  /**
   * On servers that plan with indexes (`store.indexedQueries`) every query names its index as a
   * hint: a planner that picks another index sharing the `communicationId` prefix (FerretDB v2 did)
   * sorts every record of the communication for one page. FerretDB v1 gets no hints (it has no
   * planner to steer).
   */
  constructor(db: Db, store: StoreProfile = storeProfile(undefined)) {
    this.#records = db.collection<RecordDoc>(RECORDS);
    this.#counts = db.collection<CountsDoc>(COUNTS);
    this.#hints = store.indexedQueries;
  }

  /** Every count of a communication (its partitions' counts documents summed). */
  async counts(communicationId: string): Promise<CommunicationCounts> {
    return this.countsOf([communicationId]);
  }

  /** The counts of several communications or day buckets, summed. */
  async countsOf(keys: readonly string[]): Promise<CommunicationCounts> {
    // index: _id (one $in read of the partitions' documents, in chunks)
    const ids = keys.flatMap((key) => Array.from({ length: REPORTING_PARTITIONS }, (_, p) => countsId(key, p)));
    return sumCounts(await findByIds(this.#counts, ids));
  }

  /** The day buckets of every communication for these UTC days, summed. */
  async countsOfDays(days: readonly string[]): Promise<CommunicationCounts> {
    // index: day
    return sumCounts(await this.#counts.find({ day: { $in: days.map(String) } }).toArray());
  }

  /** One record, or undefined (a stored status that is no status key throws, as in its timeline). */
  async get(deliveryId: string): Promise<DeliveryRecordRow | undefined> {
    // index: _id
    const doc = await this.#records.findOne({ _id: deliveryId });
    // A record removed from its draft (empty communicationId) is in no report.
    return doc === null || doc.communicationId === '' ? undefined : toRow(doc, false);
  }

  /** The records with these IDs; removed ones (empty communicationId) left out. */
  async getMany(deliveryIds: readonly string[]): Promise<DeliveryRecordRow[]> {
    // index: _id ($in batches, or one _id lookup each on FerretDB v1: see findByIds)
    const docs = await findByIds(this.#records, deliveryIds, { projection: ROW_PROJECTION });
    return docs.filter((d) => d.communicationId !== '').map((d) => toRow(d, true));
  }

  /** A record's timeline (capped: the first 10 and the last 40 events), in timeline order. */
  async timeline(deliveryId: string): Promise<TimelineEntry[]> {
    // index: _id
    const doc = await this.#records.findOne({ _id: deliveryId }, { projection: { timeline: 1 } });
    return (doc?.timeline?.entries ?? []).map((e) => ({
      eventId: e.eventId,
      status: statusKey(e.status),
      source: isSource(e.source) ? e.source : 'unspecified',
      provider: e.provider,
      providerEventType: e.providerEventType,
      providerMessageId: e.providerMessageId ?? '',
      reasonCode: e.reasonCode,
      reasonText: e.reasonText,
      attempt: e.attempt,
      response: e.response,
      occurredAt: e.occurredAt ?? null,
      receivedAt: e.receivedAt,
    }));
  }

  #find(q: RecordQuery, afterId: string | undefined, projection: Document) {
    const cursor = this.#records.find(recordFilter(q, afterId), { projection }).sort({ _id: 1 });
    return this.#hints ? cursor.hint(indexFor(q)) : cursor;
  }

  /**
   * Up to `limit` records matching the query with `_id` after `afterId`, in `_id` order.
   * index: see {@link indexFor} (communicationId_id, communicationId_status_id, …, sentAt_id).
   */
  async page(q: RecordQuery, afterId: string | undefined, limit: number): Promise<DeliveryRecordRow[]> {
    const docs = await this.#find(q, afterId, ROW_PROJECTION).limit(limit).toArray();
    return docs.map((d) => toRow(d, true));
  }

  /** IDs of every record matching the query, in `_id` order (index: see {@link indexFor}). */
  async *ids(q: RecordQuery): AsyncGenerator<string> {
    const cursor = this.#find(q, undefined, { _id: 1 }).batchSize(5_000);
    for await (const doc of cursor) yield doc._id;
  }

  /** Every record matching the query, in `_id` order, streamed (index: see {@link indexFor}). */
  async *rows(q: RecordQuery): AsyncGenerator<DeliveryRecordRow> {
    const cursor = this.#find(q, undefined, ROW_PROJECTION).batchSize(2_000);
    for await (const doc of cursor) yield toRow(doc, true);
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
    return { rows: docs.slice(0, limit).map((d) => toRow(d, true)), more: docs.length > limit };
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

function addCounts(into: StatusCounts, from: Partial<Record<StatusKey, number>> | undefined): void {
  for (const [key, n] of Object.entries(from ?? {})) if (isStatusKey(key)) into[key] += n ?? 0;
}

const SOURCES = new Set(['dispatch', 'provider', 'feedback', 'unspecified']);
function isSource(value: string): value is TimelineEntry['source'] {
  return SOURCES.has(value);
}

/** Counts documents summed into one communication's counts. */
function sumCounts(docs: readonly CountsDoc[]): CommunicationCounts {
  const status = emptyCounts();
  const channel = { email: emptyCounts(), sms: emptyCounts(), unknown: emptyCounts() };
  const response: Record<string, number> = {};
  let total = 0;
  for (const doc of docs) {
    total += doc.total ?? 0;
    addCounts(status, doc.status);
    for (const c of ['email', 'sms', 'unknown'] as const) addCounts(channel[c], doc.channel?.[c]);
    for (const [key, n] of Object.entries(doc.response ?? {})) {
      const option = decodeCountKey(key);
      response[option] = (response[option] ?? 0) + n;
    }
  }
  for (const [option, n] of Object.entries(response)) if (n === 0) delete response[option];
  return { total, status, channel, response };
}
