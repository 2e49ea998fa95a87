// A record's timeline: every event it received (ranked or not), in a fixed order, capped.
//
// The cap keeps the first `head` and the last `tail` entries in timeline order and drops the
// middle, counting what it dropped. The kept set depends only on the set of events (never on
// arrival order): adding an event to a full timeline can only push out the entry just after the
// head. The IDs of dropped events are kept (IDs only, not the entries) so that a redelivered copy
// of one is neither shown nor counted twice; at most MAX_DROPPED_IDS of them, so a record stays bounded.
import type { StatusEvent } from './event.js';
import type { StatusKey } from './statuses.js';

/** One event of a record's timeline. */
export interface TimelineEntry {
  readonly eventId: string;
  readonly status: StatusKey;
  readonly attempt: number;
  /** The source's (provider's) event time; undefined when it gave none. */
  readonly occurredAt: Date | undefined;
  /** When our system received it. */
  readonly receivedAt: Date;
  readonly response: string;
  readonly reasonCode: string;
  readonly reasonText: string;
  readonly source: string;
  readonly provider: string;
  readonly providerEventType: string;
  readonly providerMessageId: string;
  /** A suspected bot hit: shown, never ranked. */
  readonly suspectedBot: boolean;
}

/** A record's capped timeline. */
export interface Timeline {
  /** Kept entries in timeline order: by `receivedAt`, then by `eventId`. */
  readonly entries: readonly TimelineEntry[];
  /** How many distinct events were left out between the first and the last entries. */
  readonly dropped: number;
  /**
   * IDs of the events left out, sorted, so a copy of one is recognised: the greatest
   * {@link MAX_DROPPED_IDS} only (its length is `dropped` until more were dropped).
   */
  readonly droppedIds: readonly string[];
}

/** How many entries a timeline keeps: the first `head` and the last `tail`. */
export interface TimelineLimits {
  readonly head: number;
  readonly tail: number;
}

/**
 * The default cap: the first 10 entries (the send story: sent, delivered, first opens, first
 * answer) and the last 40 (what happened lately), so at most 50 entries per record. A record
 * rarely has more than a handful; the cap is for the pathological ones (hundreds of opens,
 * scanner hits, days of deferrals).
 */
export const TIMELINE_LIMITS: TimelineLimits = Object.freeze({ head: 10, tail: 40 });

/**
 * How many dropped event IDs a timeline remembers: bounds a record however many events a recipient
 * (or a scanner) causes. It keeps the greatest IDs, a choice that depends only on the set of events
 * (so the record is the same whatever the arrival order); a copy of a forgotten one counts again.
 */
export const MAX_DROPPED_IDS = 1_000;

/** The timeline of a record that has received nothing. */
export const EMPTY_TIMELINE: Timeline = Object.freeze({
  entries: Object.freeze([]),
  dropped: 0,
  droppedIds: Object.freeze([]),
});

/** Throws a RangeError unless both limits are non-negative integers. */
export function checkTimelineLimits(limits: TimelineLimits): TimelineLimits {
  for (const [name, value] of [
    ['head', limits.head],
    ['tail', limits.tail],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`timeline ${name} must be a non-negative integer, got ${value}`);
    }
  }
  return limits;
}

function time(d: Date): number {
  const t = d.getTime();
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Timeline order: by received time, then by event ID (so equal times still have one order). */
export function compareEntries(
  a: Pick<TimelineEntry, 'receivedAt' | 'eventId'>,
  b: Pick<TimelineEntry, 'receivedAt' | 'eventId'>,
): number {
  return time(a.receivedAt) - time(b.receivedAt) || compareStrings(a.eventId, b.eventId);
}

/** The timeline entry of an event. */
export function timelineEntryOf(event: StatusEvent): TimelineEntry {
  return {
    eventId: event.eventId,
    status: event.status,
    attempt: event.attempt,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    response: event.response,
    reasonCode: event.reasonCode,
    reasonText: event.reasonText,
    source: event.source ?? '',
    provider: event.provider ?? '',
    providerEventType: event.providerEventType ?? '',
    providerMessageId: event.providerMessageId ?? '',
    suspectedBot: event.suspectedBot === true,
  };
}

/** Index of the first element of a sorted array that is not less than `value`. */
function lowerBound<T>(sorted: readonly T[], value: T, compare: (a: T, b: T) => number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(sorted[mid]!, value) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted<T>(sorted: readonly T[], value: T, compare: (a: T, b: T) => number): T[] {
  const at = lowerBound(sorted, value, compare);
  return [...sorted.slice(0, at), value, ...sorted.slice(at)];
}

/** True when the timeline has seen this event (kept, or dropped and still remembered). */
export function hasEvent(timeline: Timeline, eventId: string): boolean {
  if (timeline.entries.some((e) => e.eventId === eventId)) return true;
  const at = lowerBound(timeline.droppedIds, eventId, compareStrings);
  return timeline.droppedIds[at] === eventId;
}

/** The greatest {@link MAX_DROPPED_IDS} of sorted `ids`. */
function remembered(ids: string[]): string[] {
  return ids.length > MAX_DROPPED_IDS ? ids.slice(ids.length - MAX_DROPPED_IDS) : ids;
}

/**
 * Adds an event to a timeline, dropping the entry just after the head when it is full. Returns
 * the same timeline for an event it has already seen (copies of one event ID are one observation:
 * the first copy seen is the one kept). Pass the same limits every time; throws a RangeError for
 * invalid limits.
 */
export function addToTimeline(timeline: Timeline, event: StatusEvent, limits = TIMELINE_LIMITS): Timeline {
  checkTimelineLimits(limits);
  if (hasEvent(timeline, event.eventId)) return timeline;
  const entries = insertSorted(timeline.entries, timelineEntryOf(event), compareEntries);
  if (entries.length <= limits.head + limits.tail) return { ...timeline, entries };
  // One too many: the kept set of the larger event set is the old kept set plus this event, minus
  // the one entry that is now neither among the first `head` nor among the last `tail`.
  const [left] = entries.splice(limits.head, 1) as [TimelineEntry];
  return {
    entries,
    dropped: timeline.dropped + 1,
    droppedIds: remembered(insertSorted(timeline.droppedIds, left.eventId, compareStrings)),
  };
}

/**
 * The timeline of a set of events, built in one go: distinct event IDs (first copy wins), sorted,
 * the first `head` and the last `tail` kept. Equal to adding the events one by one in any order
 * (while no copy arrives of an event whose ID was forgotten, see {@link MAX_DROPPED_IDS}).
 * Throws a RangeError for invalid limits.
 */
export function buildTimeline(events: Iterable<StatusEvent>, limits = TIMELINE_LIMITS): Timeline {
  checkTimelineLimits(limits);
  const byId = new Map<string, TimelineEntry>();
  for (const event of events) if (!byId.has(event.eventId)) byId.set(event.eventId, timelineEntryOf(event));
  const all = [...byId.values()].sort(compareEntries);
  if (all.length <= limits.head + limits.tail) return { entries: all, dropped: 0, droppedIds: [] };
  const middle = all.slice(limits.head, all.length - limits.tail);
  return {
    entries: [...all.slice(0, limits.head), ...all.slice(all.length - limits.tail)],
    dropped: middle.length,
    droppedIds: remembered(middle.map((e) => e.eventId).sort(compareStrings)),
  };
}
