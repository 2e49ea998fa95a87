// The projection of one delivery record, pure: what the record becomes after a batch of work items
// (recipients added, events), how the per-communication counts move, and which status changes
// subscribers are told about. The store adapter reads the records, calls `project`, writes the results.
import { apply, INITIAL_RECORD, viewOf, type RankState, type StatusKey, type StatusRecord } from '@dlr/status-engine';
import { ERASED } from '@dlr/contracts';
import type { AddedDelivery, ChannelKey, DeliveryEventIn } from './model.js';

/** A delivery record with everything reporting keeps about it. */
export interface ProjectedRecord {
  readonly id: string;
  readonly communicationId: string;
  /** Null until known (an event that came before `RecipientsAdded` may not say). */
  readonly channel: ChannelKey | null;
  readonly recipientName: string;
  /** Email address or phone number: personal data, never logged. */
  readonly address: string;
  /** The person was erased: name, address and provider texts are {@link ERASED}; still counted. */
  readonly erased: boolean;
  /**
   * Set when the record was removed from its draft (`RecipientsRemoved`): kept as a tombstone, in no
   * report and no count, until a later `RecipientsAdded` of it adds it again.
   */
  readonly removedAt: Date | null;
  readonly partition: number;
  /** The ranked state and the capped timeline (see @dlr/status-engine). */
  readonly state: StatusRecord;
  /** How many status changes of this record were published (the `version` of the last one). */
  readonly version: number;
  /** The changes made by the last write, kept until a later write: republished after a crash. */
  readonly outbox: readonly StatusChange[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When dispatch first handed it on (its first Sent / Not Sent); undefined until then. */
  readonly sentAt?: Date | undefined;
}

/** One change of the status or response a record shows (the `StatusChanged` event). */
export interface StatusChange {
  readonly deliveryId: string;
  readonly communicationId: string;
  readonly channel: ChannelKey | null;
  readonly version: number;
  readonly oldStatus: StatusKey;
  readonly newStatus: StatusKey;
  readonly oldResponse: string;
  readonly response: string;
  readonly attempt: number;
  readonly reasonCode: string;
  readonly reasonText: string;
  readonly eventId: string;
  readonly occurredAt: Date | undefined;
  readonly changedAt: Date;
}

/** One piece of work for a record, in the order it was received. */
export type WorkItem =
  | {
      readonly kind: 'recipients';
      readonly communicationId: string;
      readonly delivery: AddedDelivery;
      /** When the batch was added (absent from older publishers). */
      readonly occurredAt?: Date | undefined;
    }
  /** `RecipientsRemoved` for this record: it leaves the reports and the counts. */
  | { readonly kind: 'remove'; readonly communicationId: string; readonly removedAt: Date }
  | { readonly kind: 'event'; readonly event: DeliveryEventIn }
  /** `PersonErased` for this record: replace its personal data (it stays in the counts). */
  | { readonly kind: 'erase' };

/** What a record counts as in its communication's counters. */
export interface CountKey {
  readonly status: StatusKey;
  /** `unknown` while the channel is not known. */
  readonly channel: ChannelKey | 'unknown';
  /** Empty when the record shows no response. */
  readonly response: string;
}

/** The result of projecting work onto one record. */
export interface Projected {
  /** The record to store; undefined when nothing changed. */
  readonly record: ProjectedRecord | undefined;
  /** What the record counted as before and after (undefined: not counted, new or removed). */
  readonly countedBefore: CountKey | undefined;
  readonly countedAfter: CountKey | undefined;
  readonly changes: readonly StatusChange[];
}

/** What a record counts as. */
export function countKeyOf(record: { readonly state: RankState; readonly channel: ChannelKey | null }): CountKey {
  const view = viewOf(record.state);
  return { status: view.status, channel: record.channel ?? 'unknown', response: view.response };
}

/** What a record counts as; undefined for a removed record (counted nowhere). */
export function countedAs(record: {
  readonly state: RankState;
  readonly channel: ChannelKey | null;
  readonly removedAt: Date | null;
}): CountKey | undefined {
  return record.removedAt === null ? countKeyOf(record) : undefined;
}

/** True when two count keys are the same (both absent included). */
export function sameCountKey(a: CountKey | undefined, b: CountKey | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.status === b.status && a.channel === b.channel && a.response === b.response;
}

/**
 * Applies `items` (all for record `id`, in arrival order) to `current` (undefined when the record
 * does not exist yet). Recipients set the record's channel, name and address and never its status;
 * events go through the engine's `apply` (duplicates change nothing). `now` stamps the write.
 */
export function project(
  id: string,
  partition: number,
  current: ProjectedRecord | undefined,
  items: readonly WorkItem[],
  now: Date,
): Projected {
  const countedBefore = current === undefined ? undefined : countedAs(current);
  let record: ProjectedRecord = current ?? newRecord(id, partition, items, now);
  let changed = current === undefined;
  // False while the record is only the empty one made for this batch (nothing applied to it yet).
  let exists = current !== undefined;
  let changes: StatusChange[] = [];
  for (const item of items) {
    if (item.kind === 'erase') {
      // An erasure that overtook its record's RecipientsAdded has nothing to erase yet: skipped.
      if (!exists) continue;
      const erased = eraseRecord(record);
      if (erased === record) continue;
      record = erased;
      changed = true;
      continue;
    }
    if (item.kind === 'remove') {
      if (record.removedAt !== null && item.removedAt <= record.removedAt) continue;
      // Also a record not seen yet: its RecipientsAdded may come later (another router), and must not add it.
      record = {
        ...record,
        communicationId: record.communicationId || item.communicationId,
        removedAt: item.removedAt,
      };
      changed = true;
      exists = true;
      continue;
    }
    if (item.kind === 'recipients') {
      if (record.removedAt !== null) {
        // Added again after the removal (a later batch) brings it back; an older one does not.
        if (item.occurredAt === undefined || item.occurredAt <= record.removedAt) continue;
        record = { ...record, removedAt: null };
        changed = true;
        exists = true;
      }
      // Never bring an erased person's name and address back (a redelivered RecipientsAdded).
      if (record.erased) continue;
      const d = item.delivery;
      if (
        record.communicationId === item.communicationId &&
        record.channel === d.channel &&
        record.recipientName === d.recipientName &&
        record.address === d.address
      ) {
        continue;
      }
      record = {
        ...record,
        communicationId: item.communicationId,
        channel: d.channel,
        recipientName: d.recipientName,
        address: d.address,
      };
      changed = true;
      exists = true;
      continue;
    }
    const event = record.erased ? eraseEvent(item.event) : item.event;
    const before = viewOf(record.state);
    const applied = apply(record.state, event);
    if (!applied.changed) continue;
    changed = true;
    exists = true;
    const after = viewOf(applied.record);
    record = {
      ...record,
      channel: record.channel ?? event.channel ?? null,
      state: applied.record,
      sentAt: sentAtAfter(record.sentAt, event),
    };
    if (after.status !== before.status || after.response !== before.response) {
      const version = record.version + 1;
      record = { ...record, version };
      changes.push({
        deliveryId: id,
        communicationId: record.communicationId,
        channel: record.channel,
        version,
        oldStatus: before.status,
        newStatus: after.status,
        oldResponse: before.response,
        response: after.response,
        attempt: after.attempt,
        reasonCode: after.reasonCode,
        reasonText: after.reasonText,
        eventId: event.eventId,
        occurredAt: event.occurredAt,
        changedAt: now,
      });
    }
  }
  const countedAfter = countedAs(record);
  // A removed record tells nobody (it was never sent; its communication may be gone).
  if (record.removedAt !== null) changes = [];
  if (!exists) return { record: undefined, countedBefore, countedAfter, changes: [] };
  // Changes made before an erasure in the same batch are told without the provider's words.
  if (record.erased) changes = changes.map((c) => ({ ...c, reasonText: scrub(c.reasonText) }));
  if (!changed) return { record: undefined, countedBefore, countedAfter, changes };
  return {
    record: { ...record, outbox: changes, updatedAt: now },
    countedBefore,
    countedAfter,
    changes,
  };
}

/** The send date after an event: the earliest dispatch result of any attempt (the Message Delivery Report's date). */
export function sentAtAfter(sentAt: Date | undefined, event: DeliveryEventIn): Date | undefined {
  if (event.source !== 'dispatch' || event.attempt < 1) return sentAt;
  const at = event.occurredAt ?? event.receivedAt;
  return sentAt === undefined || at.getTime() < sentAt.getTime() ? at : sentAt;
}

const scrub = (text: string) => (text === '' ? text : ERASED);

/** An event of an erased record: the provider's words (which may quote the address) replaced. */
function eraseEvent(event: DeliveryEventIn): DeliveryEventIn {
  return event.reasonText === '' ? event : { ...event, reasonText: ERASED };
}

/**
 * The record with the person's data replaced: name and address, and every provider text in its lanes,
 * timeline and outbox. The same record (identity) when it was erased already.
 */
export function eraseRecord(record: ProjectedRecord): ProjectedRecord {
  if (record.erased) return record;
  const { state } = record;
  return {
    ...record,
    recipientName: ERASED,
    address: ERASED,
    erased: true,
    state: {
      ...state,
      send: { ...state.send, reasonText: scrub(state.send.reasonText) },
      human: { ...state.human, reasonText: scrub(state.human.reasonText) },
      ...(state.answer ? { answer: { ...state.answer, reasonText: scrub(state.answer.reasonText) } } : {}),
      timeline: {
        ...state.timeline,
        entries: state.timeline.entries.map((e) => ({ ...e, reasonText: scrub(e.reasonText) })),
      },
    },
    outbox: record.outbox.map((c) => ({ ...c, reasonText: scrub(c.reasonText) })),
  };
}

function newRecord(id: string, partition: number, items: readonly WorkItem[], now: Date): ProjectedRecord {
  const first = items.find((i) => i.kind !== 'erase');
  const communicationId =
    first === undefined ? '' : first.kind === 'event' ? first.event.communicationId : first.communicationId;
  return {
    id,
    communicationId,
    channel: null,
    recipientName: '',
    address: '',
    erased: false,
    removedAt: null,
    partition,
    state: INITIAL_RECORD,
    version: 0,
    outbox: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** The changes of per-communication counts: +1 / -1 per count key. */
export class CountDeltas {
  readonly #byCommunication = new Map<string, Map<string, number>>();

  /** Moves one record of `communicationId` from `before` to `after` (absent: not counted, new or removed). */
  move(communicationId: string, before: CountKey | undefined, after: CountKey | undefined): void {
    if (sameCountKey(before, after)) return;
    if (before !== undefined) this.#add(communicationId, before, -1);
    else this.#bump(communicationId, 'total', 1);
    if (after !== undefined) this.#add(communicationId, after, 1);
    else this.#bump(communicationId, 'total', -1);
  }

  /** The `$inc` document per communication (paths into the counts document), zero entries left out. */
  increments(): Map<string, Record<string, number>> {
    const out = new Map<string, Record<string, number>>();
    for (const [communicationId, deltas] of this.#byCommunication) {
      const inc: Record<string, number> = {};
      for (const [path, n] of deltas) if (n !== 0) inc[path] = n;
      if (Object.keys(inc).length > 0) out.set(communicationId, inc);
    }
    return out;
  }

  /** Takes one record of `communicationId` out of `key` (it moved to another day bucket). */
  remove(communicationId: string, key: CountKey): void {
    this.#add(communicationId, key, -1);
    this.#bump(communicationId, 'total', -1);
  }

  #add(communicationId: string, key: CountKey, n: number): void {
    this.#bump(communicationId, `status.${key.status}`, n);
    this.#bump(communicationId, `channel.${key.channel}.${key.status}`, n);
    if (key.response !== '') this.#bump(communicationId, `response.${encodeCountKey(key.response)}`, n);
  }

  #bump(communicationId: string, path: string, n: number): void {
    let deltas = this.#byCommunication.get(communicationId);
    if (deltas === undefined) this.#byCommunication.set(communicationId, (deltas = new Map<string, number>()));
    deltas.set(path, (deltas.get(path) ?? 0) + n);
  }
}

/** A response option as a field name MongoDB accepts (no dots, no leading `$`). */
export function encodeCountKey(response: string): string {
  return encodeURIComponent(response).replaceAll('.', '%2E');
}

/** The inverse of {@link encodeCountKey}. */
export function decodeCountKey(field: string): string {
  return decodeURIComponent(field);
}

/**
 * The day bucket a record sent at `sentAt` counts in (none before it is sent): its communication's
 * records sent that UTC day, `<communicationId>@<YYYY-MM-DD>`. Buckets are counts documents like a
 * communication's (same fence, same recount), so the Message Delivery Report's totals of whole days
 * come from counters.
 */
export function dayBuckets(communicationId: string, sentAt: Date | undefined): string[] {
  if (sentAt === undefined) return [];
  return [`${communicationId}@${sentAt.toISOString().slice(0, 10)}`];
}

/** The day of a day bucket's key (see {@link dayBuckets}); undefined for a communication's own key. */
export function dayOfBucket(key: string): string | undefined {
  const at = key.indexOf('@');
  return at < 0 ? undefined : key.slice(at + 1);
}

/** Moves a record's day-bucket counts after a write (its send date may have appeared or moved earlier). */
export function moveDayCounts(
  deltas: CountDeltas,
  communicationId: string,
  before: { sentAt: Date | undefined; key: CountKey | undefined },
  after: { sentAt: Date | undefined; key: CountKey | undefined },
): void {
  const from = before.key === undefined ? [] : dayBuckets(communicationId, before.sentAt);
  const to = after.key === undefined ? [] : dayBuckets(communicationId, after.sentAt);
  if (from.length > 0 && from[0] === to[0]) {
    for (const bucket of to) deltas.move(bucket, before.key, after.key);
    return;
  }
  for (const bucket of from) deltas.move(bucket, before.key, undefined);
  for (const bucket of to) deltas.move(bucket, undefined, after.key);
}
