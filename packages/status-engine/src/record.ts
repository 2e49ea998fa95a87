// A whole delivery record as the engine sees it: the ranked state plus the capped timeline, built
// either from the set of its events at once (`fold`) or one event at a time (`apply`).
import type { RankedEvent, StatusEvent } from './event.js';
import {
  flagOf,
  INITIAL_STATE,
  laneOf,
  observationOf,
  outranks,
  PENDING,
  rankEvent,
  viewOf,
  type Observation,
  type RankState,
  type StatusCounts,
} from './rank.js';
import { normalizeFlags } from './reasons.js';
import type { StatusKey } from './statuses.js';
import {
  addToTimeline,
  buildTimeline,
  EMPTY_TIMELINE,
  TIMELINE_LIMITS,
  type Timeline,
  type TimelineLimits,
} from './timeline.js';

/** A delivery record: its ranked state (see {@link RankState}) and its capped timeline. */
export interface StatusRecord extends RankState {
  readonly timeline: Timeline;
}

/** A record that exists, is Pending, and has received nothing. */
export const INITIAL_RECORD: StatusRecord = Object.freeze({ ...INITIAL_STATE, timeline: EMPTY_TIMELINE });

/** A change of the status a record shows. */
export interface Transition {
  readonly from: StatusKey;
  readonly to: StatusKey;
}

/** What {@link apply} returns. */
export interface Applied {
  readonly record: StatusRecord;
  /** False when the event was already seen (the record is returned as it was). */
  readonly changed: boolean;
  /** Present only when the shown status changed: counters move one record from `from` to `to`. */
  readonly transition?: Transition;
}

/**
 * Applies one event to a record: the rank rule ({@link rankEvent}) and the timeline. A copy of an
 * event already seen (same event ID) changes nothing. Pass the same limits every time; throws a
 * RangeError for invalid limits.
 */
export function apply(record: StatusRecord, event: StatusEvent, limits: TimelineLimits = TIMELINE_LIMITS): Applied {
  const timeline = addToTimeline(record.timeline, event, limits);
  if (timeline === record.timeline) return { record, changed: false };
  const next = { ...rankEvent(record, event).state, timeline };
  const from = viewOf(record).status;
  const to = viewOf(next).status;
  return from === to ? { record: next, changed: true } : { record: next, changed: true, transition: { from, to } };
}

function best(events: readonly RankedEvent[]): Observation {
  return events.map(observationOf).reduce((a, b) => (outranks(b, a) ? b : a), PENDING);
}

/**
 * The ranked state of a set of events, stated directly: the send lane is the best event of the
 * highest attempt, the human lane the best human-lane event, the answer the best human-lane event
 * with a response, flags the union of every flag. Equal to {@link rankEvent} over the events in any
 * order, with any duplicates.
 */
export function foldState(events: readonly RankedEvent[]): RankState {
  const send = events.filter((e) => laneOf(e) === 'send');
  const attempt = Math.max(0, ...send.map((e) => e.attempt));
  const human = events.filter((e) => laneOf(e) === 'human');
  const answers = human.filter((e) => e.response !== '');
  return {
    attempt,
    send: best(send.filter((e) => e.attempt === attempt)),
    human: best(human),
    flags: normalizeFlags(events.map(flagOf)),
    ...(answers.length > 0 ? { answer: best(answers) } : {}),
  };
}

/**
 * The record of a set of events, built in one go (copies of one event ID count once: the first
 * wins). Equal to {@link apply} over the events in any order. Throws a RangeError for invalid
 * limits.
 */
export function fold(events: Iterable<StatusEvent>, limits: TimelineLimits = TIMELINE_LIMITS): StatusRecord {
  const distinct = new Map<string, StatusEvent>();
  for (const event of events) if (!distinct.has(event.eventId)) distinct.set(event.eventId, event);
  const list = [...distinct.values()];
  return { ...foldState(list), timeline: buildTimeline(list, limits) };
}

/**
 * Moves one record in a count per status according to a transition (no-op without one). Returns
 * a new object; keeping counters this way from every {@link apply} equals a recount.
 */
export function countTransition(counts: StatusCounts, transition: Transition | undefined): StatusCounts {
  if (transition === undefined) return counts;
  return { ...counts, [transition.from]: counts[transition.from] - 1, [transition.to]: counts[transition.to] + 1 };
}
