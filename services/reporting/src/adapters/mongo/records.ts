// Delivery records, their per-communication counts and the partition leases in MongoDB (or
// FerretDB v1). Every hot read and write is addressed by `_id` only — the one filter FerretDB v1
// pushes down — and each document has one writer at a time: the owner of its partition (see
// adapters/nats/partitions.ts). Writes are still fenced: a store that was frozen runs the commands
// its clients gave up on once it thaws, so a record replace only lands on the revision it was read
// at, and a counts `$inc` only on counts no newer than its partition epoch (a recount starts one).
import { REPORTING_PARTITIONS } from '@dlr/contracts';
import { ensureIndexes, findByIds, isDuplicateKeyError, storeProfile, type StoreProfile } from '@dlr/platform';
import {
  isStatusKey,
  normalizeFlags,
  PENDING,
  STATUSES,
  viewOf,
  type Observation,
  type RecordFlag,
  type StatusKey,
  type TimelineEntry as EngineTimelineEntry,
} from '@dlr/status-engine';
import type { Collection, Db } from 'mongodb';
import type { ChannelKey, DeliveryRecordRow } from '../../domain/model.js';
import {
  countKeyOf,
  CountDeltas,
  dayBuckets,
  dayOfBucket,
  type ProjectedRecord,
  type StatusChange,
} from '../../domain/projection.js';
import { COUNT_HISTORY, type CountSnapshotDoc } from './history.js';

/** Collection of delivery records, `_id` = delivery ID. */
export const RECORDS = 'delivery_records';
/** Collection of per-communication counts, one document per communication and partition. */
export const COUNTS = 'communication_counts';
/** Collection of partition leases (is the partition's data consistent?), `_id` = `p<partition>`. */
export const PARTITIONS = 'reporting_partitions';

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

/** A timeline entry as stored (`occurredAt` null when the source gave none). */
export interface TimelineEntryDoc extends Omit<EngineTimelineEntry, 'occurredAt'> {
  occurredAt: Date | null;
}

/** A status change as stored in a record's outbox. */
export interface StatusChangeDoc extends Omit<StatusChange, 'occurredAt'> {
  occurredAt: Date | null;
}

/** A delivery record as stored. */
export interface RecordDoc {
  _id: string;
  communicationId: string;
  channel: ChannelKey | null;
  recipientName: string;
  address: string;
  /** The person was erased (name, address and provider texts replaced); absent on older records. */
  erased?: boolean;
  /**
   * Set on a record removed from its draft: then `communicationId` is empty (so no report or count
   * of a communication finds it) and `removedFrom` holds it.
   */
  removedAt?: Date;
  removedFrom?: string;
  /** See `partitionOf` in @dlr/contracts. */
  partition: number;
  /** The latest send attempt seen (0 before the first). */
  attempt: number;
  /** Best event of that attempt. */
  send: ObservationDoc;
  /** Best event not tied to an attempt (human actions). */
  human: ObservationDoc;
  /** Best human event that carried a response (the answer shown); absent until one. */
  answer?: ObservationDoc;
  /** Complaint / permanent bounce seen. */
  flags: RecordFlag[];
  /** The status shown (derived from the lanes; stored for filters). */
  status: StatusKey;
  /** The response shown (derived from the human lane; stored for filters). */
  response: string;
  /** Capped: the first 10 and the last 40 events (see the engine's timeline). */
  timeline: { entries: TimelineEntryDoc[]; dropped: number; droppedIds: string[] };
  /** Version of the last published status change. */
  version: number;
  /** Status changes of the last write (republished after a crash). */
  outbox: StatusChangeDoc[];
  /** How many times the record was written (absent on older records: 0); see `saveMany`. */
  rev?: number;
  createdAt: Date;
  updatedAt: Date;
  /** When dispatch first handed it on: the Message Delivery Report's date; absent until then. */
  sentAt?: Date;
}

/** Counts of one communication in one partition (`_id` = `<communicationId>:<partition>`). */
export interface CountsDoc {
  _id: string;
  communicationId: string;
  partition: number;
  total: number;
  /** Records per shown status. */
  status: Partial<Record<StatusKey, number>>;
  /** Records per channel (`email`, `sms`, `unknown`) and shown status. */
  channel: Partial<Record<ChannelKey | 'unknown', Partial<Record<StatusKey, number>>>>;
  /** Records per shown response (keys encoded by `encodeCountKey`). */
  response: Record<string, number>;
  /** Partition epoch of the last write (absent on older documents: 0); see `addCounts`. */
  epoch?: number;
  /** Set on a day bucket (`<communicationId>@<day>`, see `dayBuckets`): the UTC day its records were sent. */
  day?: string;
  updatedAt: Date;
}

/** Is the data of a partition consistent (its last owner stopped cleanly)? */
export interface PartitionDoc {
  _id: string;
  clean: boolean;
  owner: string;
  /** Raised by every takeover and recount (absent on older leases: 0); fences counts writes. */
  epoch?: number;
  since: Date;
}

/** A stored record and the revision it was read at (0 for a new record). */
export interface LoadedRecord {
  readonly record: ProjectedRecord;
  readonly rev: number;
}

/**
 * A fenced write found a newer revision or epoch than its own: the record was written since it was
 * read, or another owner recounted the partition. Nothing of the refused document was applied.
 */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';
}

/** Creates the indexes every query below names; idempotent. */
export async function migrateRecords(db: Db): Promise<void> {
  await ensureIndexes(db, RECORDS, [
    { key: { communicationId: 1, _id: 1 }, name: 'communicationId_id' },
    { key: { partition: 1 }, name: 'partition' },
  ]);
  // Retention of delivery records (never a TTL index: records and counts must go together).
  await ensureIndexes(db, COUNTS, [{ key: { updatedAt: 1 }, name: 'updatedAt' }]);
  // The Message Delivery Report's totals of whole days across communications (day buckets).
  await ensureIndexes(db, COUNTS, [{ key: { day: 1 }, name: 'day' }]);
}

/** Reads and writes delivery records and their counts. */
export class RecordsRepository {
  readonly #records: Collection<RecordDoc>;
  readonly #counts: Collection<CountsDoc>;
  readonly #partitions: Collection<PartitionDoc>;
  readonly #history: Collection<CountSnapshotDoc>;
  readonly #store: StoreProfile;

  /** `store` says whether `$in` reads and large bulks suit the server (see {@link StoreProfile}). */
  constructor(db: Db, store: StoreProfile = storeProfile(undefined)) {
    this.#store = store;
    this.#records = db.collection<RecordDoc>(RECORDS);
    this.#counts = db.collection<CountsDoc>(COUNTS);
    this.#partitions = db.collection<PartitionDoc>(PARTITIONS);
    this.#history = db.collection<CountSnapshotDoc>(COUNT_HISTORY);
  }

  // ---- write side (called only by the owner of the records' partition) ----

  /** The stored records with these IDs (absent ones left out). index: _id (see `findByIds`). */
  async loadMany(ids: readonly string[]): Promise<Map<string, LoadedRecord>> {
    const docs = await findByIds(this.#records, ids);
    return new Map(docs.map((doc) => [doc._id, { record: fromDoc(doc), rev: doc.rev ?? 0 }]));
  }

  /**
   * Stores records whole, each only over the revision it was read at (`rev`, 0 for a new record):
   * unordered bulks of replaces by `_id`, the store's bulk size at a time (small on FerretDB v1,
   * which takes superlinear time over one large bulk of upserts; see docs/decisions.md). Throws
   * {@link WriteConflictError} when a record was written since (the rest of the bulk may have landed).
   */
  async saveMany(writes: readonly LoadedRecord[]): Promise<void> {
    const chunk = this.#store.bulkSize;
    for (let from = 0; from < writes.length; from += chunk) {
      const ops = writes.slice(from, from + chunk).map(({ record, rev }) => ({
        replaceOne: {
          // index: _id. A newer revision fails the filter; the upsert then collides on `_id`.
          filter: { _id: record.id, rev: { $not: { $gt: rev } } },
          replacement: { ...toDoc(record), rev: rev + 1 },
          upsert: true,
        },
      }));
      await this.#records.bulkWrite(ops, { ordered: false }).catch(conflictOr('records written since they were read'));
    }
  }

  /**
   * Adds count changes to a partition's counts documents (one `$inc` by `_id` per communication),
   * fenced by the writer's partition `epoch`: throws {@link WriteConflictError} for a document a
   * newer epoch wrote.
   */
  async addCounts(partition: number, deltas: CountDeltas, now: Date, epoch: number): Promise<void> {
    const ops = [...deltas.increments()].map(([communicationId, inc]) => ({
      updateOne: {
        // index: _id. A newer epoch fails the filter; the upsert then collides on `_id`.
        filter: { _id: countsId(communicationId, partition), epoch: { $not: { $gt: epoch } } },
        update: {
          $inc: inc,
          $set: { updatedAt: now, epoch },
          $setOnInsert: { communicationId, partition, ...dayField(communicationId) },
        },
        upsert: true,
      },
    }));
    for (let from = 0; from < ops.length; from += this.#store.bulkSize)
      await this.#counts
        .bulkWrite(ops.slice(from, from + this.#store.bulkSize), { ordered: false })
        .catch(conflictOr('counts of a newer partition epoch'));
  }

  /**
   * Rebuilds a partition's counts from its records (after an unclean stop, when the last batch may
   * have stored records but not their counts). Scans the partition's records. The documents get
   * `epoch`, so a `$inc` of an older epoch that the store runs late can no longer land.
   */
  async recount(partition: number, now: Date, epoch: number): Promise<number> {
    const deltas = new CountDeltas();
    let records = 0;
    // index: partition
    const cursor = this.#records.find(
      { partition },
      {
        projection: {
          communicationId: 1,
          channel: 1,
          attempt: 1,
          send: 1,
          human: 1,
          answer: 1,
          flags: 1,
          removedAt: 1,
          sentAt: 1,
        },
      },
    );
    for await (const doc of cursor) {
      if (doc.removedAt != null) continue; // a removed record counts nowhere
      records += 1;
      const key = countKeyOf({ state: stateOf(doc), channel: doc.channel ?? null });
      deltas.move(doc.communicationId, undefined, key);
      for (const bucket of dayBuckets(doc.communicationId, doc.sentAt)) deltas.move(bucket, undefined, key);
    }
    const fresh = deltas.increments();
    // index: none (a small collection; every counts document of the partition is replaced)
    const existing = await this.#counts.find({ partition }, { projection: { _id: 1, communicationId: 1 } }).toArray();
    for (const doc of existing) if (!fresh.has(doc.communicationId)) fresh.set(doc.communicationId, {});
    // Fenced like addCounts: a recount of an owner that has since lost the partition (its store call
    // outlived its stop, or a frozen store ran it late) must not replace a newer owner's counts. Its
    // upsert then collides on `_id` with the newer document and changes nothing.
    const ops = [...fresh].map(([communicationId, inc]) => ({
      replaceOne: {
        // index: _id
        filter: { _id: countsId(communicationId, partition), epoch: { $not: { $gt: epoch } } },
        replacement: { ...countsDocFrom(communicationId, partition, inc, now), epoch },
        upsert: true,
      },
    }));
    // In the store's bulk size: a partition may hold hundreds of communications' counts.
    for (let from = 0; from < ops.length; from += this.#store.bulkSize) {
      try {
        await this.#counts.bulkWrite(ops.slice(from, from + this.#store.bulkSize), { ordered: false });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error; // else: stale, refused (the newer owner's counts stand)
      }
    }
    return records;
  }

  /**
   * Retention: deletes every record, counts document and count snapshot of up to `limit`
   * communications none of whose counts changed since `before`, a communication at a time and whole,
   * so a report never disagrees with a recount. Returns how many communications went.
   */
  async expireCommunications(before: Date, limit = 100): Promise<number> {
    // index: updatedAt
    const stale = await this.#counts
      .find({ updatedAt: { $lt: before } }, { projection: { communicationId: 1 } })
      .limit(limit * REPORTING_PARTITIONS)
      .toArray();
    let expired = 0;
    // A communication's day buckets go with it (they are never candidates themselves).
    const candidates = [...new Set(stale.map((d) => d.communicationId))].filter((c) => dayOfBucket(c) === undefined);
    for (const communicationId of candidates.slice(0, limit)) {
      const ids = Array.from({ length: REPORTING_PARTITIONS }, (_, p) => countsId(communicationId, p));
      // index: _id
      const docs = await findByIds(this.#counts, ids);
      if (docs.some((d) => d.updatedAt >= before)) continue;
      // Snapshots first: while its counts are there, a sweep cut short here finds it again.
      // index: communicationId_bucket
      await this.#history.deleteMany({ communicationId });
      // index: communicationId_id
      await this.#records.deleteMany({ communicationId });
      // index: _id
      await this.#counts.deleteMany({ _id: { $in: ids } });
      // index: none (a small collection; the communication's day buckets, `<id>@<day>`)
      await this.#counts.deleteMany({ communicationId: { $regex: `^${communicationId}@` } });
      expired += 1;
    }
    // Records removed from drafts (counted nowhere, in no communication) go after the same time.
    // index: communicationId_id
    await this.#records.deleteMany({ communicationId: '', removedAt: { $lt: before } });
    return expired;
  }

  /** Records of a partition whose last write left status changes that may not have been published. */
  async *pendingChanges(partition: number): AsyncGenerator<StatusChange[]> {
    // index: partition
    const cursor = this.#records.find({ partition, 'outbox.0': { $exists: true } }, { projection: { outbox: 1 } });
    for await (const doc of cursor) yield doc.outbox.map(changeFrom);
  }

  /** The lease of a partition; undefined before its first owner. */
  async partitionLease(partition: number): Promise<PartitionDoc | undefined> {
    // index: _id
    return (await this.#partitions.findOne({ _id: `p${partition}` })) ?? undefined;
  }

  /** Marks a partition as owned (`clean: false`) or cleanly released (`clean: true`) at `epoch`. */
  async setPartitionLease(partition: number, owner: string, clean: boolean, now: Date, epoch: number): Promise<void> {
    // index: _id
    await this.#partitions.replaceOne({ _id: `p${partition}` }, { clean, owner, epoch, since: now }, { upsert: true });
  }
}

/** Turns a duplicate-key failure of a fenced upsert into a {@link WriteConflictError}. */
function conflictOr(what: string): (error: unknown) => never {
  return (error: unknown) => {
    const e = error as { code?: unknown; writeErrors?: unknown };
    const errors = Array.isArray(e.writeErrors) ? (e.writeErrors as { code?: unknown }[]) : [];
    if (e.code === 11000 || errors.some((w) => w.code === 11000)) throw new WriteConflictError(what, { cause: error });
    throw error;
  };
}

/** The `day` field of a day bucket's counts documents (nothing for a communication's own). */
function dayField(key: string): { day?: string } {
  const day = dayOfBucket(key);
  return day === undefined ? {} : { day };
}

/** `_id` of a communication's counts document in one partition. */
export function countsId(communicationId: string, partition: number): string {
  return `${communicationId}:${partition}`;
}

function countsDocFrom(communicationId: string, partition: number, inc: Record<string, number>, now: Date): CountsDoc {
  const doc: CountsDoc = {
    _id: countsId(communicationId, partition),
    communicationId,
    partition,
    total: 0,
    status: {},
    channel: {},
    response: {},
    updatedAt: now,
    ...dayField(communicationId),
  };
  for (const [path, n] of Object.entries(inc)) {
    const [head, a, b] = path.split('.');
    if (head === 'total') doc.total = n;
    else if (head === 'status' && a !== undefined && isStatusKey(a)) doc.status[a] = n;
    else if (head === 'response' && a !== undefined) doc.response[a] = n;
    else if (
      head === 'channel' &&
      (a === 'email' || a === 'sms' || a === 'unknown') &&
      b !== undefined &&
      isStatusKey(b)
    ) {
      (doc.channel[a] ??= {})[b] = n;
    }
  }
  return doc;
}

/** A stored status; throws for one that is not a status key (a corrupt record). */
export function statusKey(value: unknown): StatusKey {
  if (!isStatusKey(value)) throw new Error(`stored status ${JSON.stringify(value)} is not a status key`);
  return value;
}

/** A stored lane. A bad status throws, or reads as pending when `lenient` (the reports' rows). */
function lane(doc: ObservationDoc | undefined, lenient: boolean): Observation {
  if (doc === undefined || (lenient && !isStatusKey(doc.status))) return PENDING;
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

/** The ranked state of a stored record (`lenient`: see {@link lane}). */
export function stateOf(
  doc: Pick<RecordDoc, 'attempt' | 'send' | 'human' | 'flags'> & Partial<Pick<RecordDoc, 'answer'>>,
  lenient = false,
) {
  return {
    attempt: doc.attempt ?? 0,
    send: lane(doc.send, lenient),
    human: lane(doc.human, lenient),
    flags: normalizeFlags(doc.flags ?? []),
    ...(doc.answer ? { answer: lane(doc.answer, lenient) } : {}),
  };
}

function changeFrom(doc: StatusChangeDoc): StatusChange {
  return { ...doc, occurredAt: doc.occurredAt ?? undefined };
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
  answer: 1,
  flags: 1,
  createdAt: 1,
  updatedAt: 1,
} as const;

/** A stored record as a row; `lenient`: a lane with a bad stored status reads as pending, else throws. */
export function toRow(doc: Pick<RecordDoc, keyof typeof ROW_PROJECTION>, lenient: boolean): DeliveryRecordRow {
  return {
    id: doc._id,
    communicationId: doc.communicationId,
    channel: doc.channel ?? null,
    recipientName: doc.recipientName ?? '',
    address: doc.address ?? '',
    state: stateOf(doc, lenient),
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** A stored record as the projection sees it. */
export function fromDoc(doc: RecordDoc): ProjectedRecord {
  const row = toRow(doc, false);
  return {
    ...row,
    communicationId: doc.removedFrom ?? row.communicationId,
    erased: doc.erased === true,
    removedAt: doc.removedAt ?? null,
    partition: doc.partition,
    state: {
      ...row.state,
      timeline: {
        entries: (doc.timeline?.entries ?? []).map((e) => ({ ...e, occurredAt: e.occurredAt ?? undefined })),
        dropped: doc.timeline?.dropped ?? 0,
        droppedIds: doc.timeline?.droppedIds ?? [],
      },
    },
    version: doc.version ?? 0,
    outbox: (doc.outbox ?? []).map(changeFrom),
    sentAt: doc.sentAt ?? undefined,
  };
}

/** A record as stored. */
export function toDoc(r: ProjectedRecord): RecordDoc {
  const view = viewOf(r.state);
  return {
    _id: r.id,
    communicationId: r.removedAt === null ? r.communicationId : '',
    ...(r.removedAt === null ? {} : { removedAt: r.removedAt, removedFrom: r.communicationId }),
    channel: r.channel,
    recipientName: r.recipientName,
    address: r.address,
    ...(r.erased ? { erased: true } : {}),
    partition: r.partition,
    attempt: r.state.attempt,
    send: { ...r.state.send },
    human: { ...r.state.human },
    ...(r.state.answer ? { answer: { ...r.state.answer } } : {}),
    flags: [...r.state.flags],
    status: view.status,
    response: view.response,
    timeline: {
      entries: r.state.timeline.entries.map((e) => ({ ...e, occurredAt: e.occurredAt ?? null })),
      dropped: r.state.timeline.dropped,
      droppedIds: [...r.state.timeline.droppedIds],
    },
    version: r.version,
    outbox: r.outbox.map((c) => ({ ...c, occurredAt: c.occurredAt ?? null })),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.sentAt !== undefined ? { sentAt: r.sentAt } : {}),
  };
}
