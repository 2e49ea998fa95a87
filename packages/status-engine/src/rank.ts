// The rank rule of SPEC §2: a delivery record's status is the highest-ranked status among the
// events it has received, so any order of the same events, with any duplicates, gives the same
// status. Pure: no I/O, no clock.
import type { RankedEvent } from './event.js';
import { normalizeFlags, type RecordFlag } from './reasons.js';
import { HUMAN_ACTION_RANK, STATUS_KEYS, STATUSES, type StatusKey } from './statuses.js';

/**
 * The best event seen in one of a record's two lanes (see {@link RankState}). Compared by `rank`,
 * then by `tie`, larger wins.
 */
export interface Observation {
  readonly status: StatusKey;
  readonly rank: number;
  /**
   * Breaks ties between two events of the same rank so the winner does not depend on arrival
   * order: `<occurredAt ISO>|<eventId>` (the most recent observation wins; the event ID settles
   * the rest). Empty for the initial Pending.
   */
  readonly tie: string;
  readonly eventId: string;
  readonly response: string;
  readonly reasonCode: string;
  readonly reasonText: string;
}

/**
 * The ranked state of one delivery record (what a store must keep to apply the rule), in two
 * lanes:
 * - `send`: the best event of the latest send attempt (`attempt`); a newer attempt replaces it,
 *   events of an older attempt are ignored (they only go to the timeline);
 * - `human`: the best event not tied to an attempt — every human action (70–90, whatever attempt
 *   it names) and any event with attempt 0 — which no resend takes away.
 * The status shown is the better of the two lanes ({@link effective}). Each lane is updated by one
 * comparison with the incoming event, which is what makes the whole order-independent.
 * `flags` is the set of {@link RecordFlag}s of every ranked event, in `RECORD_FLAGS` order.
 */
export interface RankState {
  readonly attempt: number;
  readonly send: Observation;
  readonly human: Observation;
  readonly flags: readonly RecordFlag[];
  /**
   * The best human-lane event that carried a response (same comparison): the Response column, so
   * an answer stays shown after a later opt-out, in any order. Absent until a response arrives.
   */
  readonly answer?: Observation;
}

/** The lane value of a record nothing has happened to yet. */
export const PENDING: Observation = Object.freeze({
  status: 'pending',
  rank: 0,
  tie: '',
  eventId: '',
  response: '',
  reasonCode: '',
  reasonText: '',
});

/** The ranked state of a record that exists and is Pending. */
export const INITIAL_STATE: RankState = Object.freeze({
  attempt: 0,
  send: PENDING,
  human: PENDING,
  flags: Object.freeze([]),
});

/** Where an event competes: the send lane, the human lane, or nowhere (a suspected bot: timeline only). */
export type Lane = 'send' | 'human' | 'none';

/** The lane an event competes in (see {@link RankState}). */
export function laneOf(event: Pick<RankedEvent, 'status' | 'attempt' | 'suspectedBot'>): Lane {
  if (event.suspectedBot === true) return 'none';
  return event.attempt === 0 || STATUSES[event.status].rank >= HUMAN_ACTION_RANK ? 'human' : 'send';
}

/** The flag a ranked event sets: a Failed for a complaint or a permanent bounce; otherwise none. */
export function flagOf(event: Pick<RankedEvent, 'status' | 'reasonCode' | 'suspectedBot'>): RecordFlag | undefined {
  if (event.status !== 'failed' || event.suspectedBot === true) return undefined;
  return event.reasonCode === 'complaint' || event.reasonCode === 'permanent_bounce' ? event.reasonCode : undefined;
}

/** The tie-break key of an event (see {@link Observation.tie}). */
export function tieKey(event: Pick<RankedEvent, 'eventId' | 'occurredAt'>): string {
  return `${event.occurredAt?.toISOString() ?? ''}|${event.eventId}`;
}

/** The lane value an event would set. */
export function observationOf(event: RankedEvent): Observation {
  return {
    status: event.status,
    rank: STATUSES[event.status].rank,
    tie: tieKey(event),
    eventId: event.eventId,
    response: event.response,
    reasonCode: event.reasonCode,
    reasonText: event.reasonText,
  };
}

/** True when `a` beats `b` (higher rank, or same rank and larger tie key). */
export function outranks(a: Pick<Observation, 'rank' | 'tie'>, b: Pick<Observation, 'rank' | 'tie'>): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.tie > b.tie);
}

/**
 * Applies one event to a ranked state (the rule a store mirrors with a conditional update). A
 * human-lane event wins the human lane if it outranks it, whatever the record's attempt; an event
 * of a newer attempt replaces the send lane (a resend starts over, even with a lower rank); an
 * event of an older attempt changes no lane; an event of the current attempt wins if it outranks
 * the lane. A Failed for a complaint or permanent bounce adds its flag whatever its lane or
 * attempt. A suspected bot changes nothing. `changed` is false when the state is returned as it
 * was (duplicates, late or lower-ranked events). Works on any object with the ranked fields and
 * keeps its other properties.
 */
export function rankEvent<S extends RankState>(state: S, event: RankedEvent): { state: S; changed: boolean } {
  const lane = laneOf(event);
  if (lane === 'none') return { state, changed: false };
  let next = state;
  const observation = observationOf(event);
  if (lane === 'human') {
    if (outranks(observation, state.human)) next = { ...next, human: observation };
    if (observation.response !== '' && (state.answer === undefined || outranks(observation, state.answer)))
      next = { ...next, answer: observation };
  } else if (event.attempt > state.attempt) {
    next = { ...next, attempt: event.attempt, send: observation };
  } else if (event.attempt === state.attempt && outranks(observation, state.send)) {
    next = { ...next, send: observation };
  }
  const flag = flagOf(event);
  if (flag !== undefined && !state.flags.includes(flag)) {
    next = { ...next, flags: normalizeFlags([...state.flags, flag]) };
  }
  return { state: next, changed: next !== state };
}

/** The lane whose status the record shows: the human lane when it outranks the send lane. */
export function effective(state: RankState): Observation {
  return outranks(state.human, state.send) ? state.human : state.send;
}

/** What a person sees of a record's state. */
export interface StatusView {
  readonly status: StatusKey;
  readonly statusLabel: string;
  /** The recipient's answer (the best human event with one; kept after an opt-out), empty when none. */
  readonly response: string;
  /** Reason code of the event that set the shown status (empty when none). */
  readonly reasonCode: string;
  /** The provider's words from the event that set the shown status (empty when none). */
  readonly reasonText: string;
  /** The latest send attempt (0 before the first). */
  readonly attempt: number;
  /** Complaint / permanent bounce seen, whatever the status shows. */
  readonly flags: readonly RecordFlag[];
}

/** The status, label, response, reason and flags a record shows. */
export function viewOf(state: RankState): StatusView {
  const shown = effective(state);
  return {
    status: shown.status,
    statusLabel: STATUSES[shown.status].label,
    response: (state.answer ?? state.human).response,
    reasonCode: shown.reasonCode,
    reasonText: shown.reasonText,
    attempt: state.attempt,
    flags: state.flags,
  };
}

/** A count per status, every status present. */
export type StatusCounts = Record<StatusKey, number>;

/** Zero for every status. */
export function emptyCounts(): StatusCounts {
  return Object.fromEntries(STATUS_KEYS.map((k) => [k, 0])) as StatusCounts;
}

/** How many records have a given pair of lane statuses (what a store can group by). */
export interface LaneGroup {
  readonly send: StatusKey;
  readonly human: StatusKey;
  readonly count: number;
}

/**
 * Folds counts per (send lane, human lane) status pair into counts per shown status. The shown
 * status of a pair is the higher-ranked of the two (equal ranks are the same status).
 */
export function countsFromLaneGroups(groups: Iterable<LaneGroup>): StatusCounts {
  const counts = emptyCounts();
  for (const g of groups) {
    const shown = STATUSES[g.human].rank > STATUSES[g.send].rank ? g.human : g.send;
    counts[shown] += g.count;
  }
  return counts;
}
