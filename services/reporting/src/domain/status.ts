// The rank rule of SPEC §2: a delivery record's status is the highest-ranked status among the
// events it has received, so any order of the same events, with any duplicates, gives the same
// status. Pure: no I/O, no clock.
import { DeliveryStatus } from '@dlr/contracts';

/** Snake-case key of a status: how it is stored, sent over REST and named in counts. */
export type StatusKey =
  | 'pending'
  | 'sent'
  | 'not_sent'
  | 'bounced_temporarily'
  | 'delivered'
  | 'read'
  | 'failed'
  | 'acknowledged'
  | 'responded'
  | 'opted_out';

/** What we know about one status: its rank, its label for people and its wire value. */
export interface StatusInfo {
  readonly key: StatusKey;
  readonly rank: number;
  readonly label: string;
  readonly proto: DeliveryStatus;
}

const TABLE: readonly StatusInfo[] = [
  { key: 'pending', rank: 0, label: 'Pending', proto: DeliveryStatus.DELIVERY_STATUS_PENDING },
  { key: 'sent', rank: 10, label: 'Sent', proto: DeliveryStatus.DELIVERY_STATUS_SENT },
  { key: 'not_sent', rank: 20, label: 'Not Sent', proto: DeliveryStatus.DELIVERY_STATUS_NOT_SENT },
  {
    key: 'bounced_temporarily',
    rank: 30,
    label: 'Bounced Temporarily',
    proto: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
  },
  { key: 'delivered', rank: 40, label: 'Delivered', proto: DeliveryStatus.DELIVERY_STATUS_DELIVERED },
  { key: 'read', rank: 50, label: 'Read', proto: DeliveryStatus.DELIVERY_STATUS_READ },
  { key: 'failed', rank: 60, label: 'Failed', proto: DeliveryStatus.DELIVERY_STATUS_FAILED },
  { key: 'acknowledged', rank: 70, label: 'Acknowledged', proto: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED },
  { key: 'responded', rank: 80, label: 'Responded', proto: DeliveryStatus.DELIVERY_STATUS_RESPONDED },
  { key: 'opted_out', rank: 90, label: 'Opted-out', proto: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT },
];

/** Every status key, lowest rank first. */
export const STATUS_KEYS: readonly StatusKey[] = TABLE.map((s) => s.key);

/** Status information by key. */
export const STATUSES: Readonly<Record<StatusKey, StatusInfo>> = Object.fromEntries(
  TABLE.map((s) => [s.key, s]),
) as Record<StatusKey, StatusInfo>;

const BY_PROTO = new Map<DeliveryStatus, StatusInfo>(TABLE.map((s) => [s.proto, s]));
const BY_RANK = new Map<number, StatusInfo>(TABLE.map((s) => [s.rank, s]));

/** The status key of a wire value; undefined for UNSPECIFIED or a value this build does not know. */
export function statusFromProto(status: DeliveryStatus): StatusKey | undefined {
  return BY_PROTO.get(status)?.key;
}

/** True when `value` is one of the ten status keys. */
export function isStatusKey(value: unknown): value is StatusKey {
  return typeof value === 'string' && Object.hasOwn(STATUSES, value);
}

/** The status with this rank; throws on a rank that is not in the table (a corrupt record). */
export function statusOfRank(rank: number): StatusKey {
  const info = BY_RANK.get(rank);
  if (!info) throw new Error(`no status has rank ${rank}`);
  return info.key;
}

/**
 * The best event seen in one of a record's two lanes (see {@link RecordState}). Compared by
 * `rank`, then by `tie`, larger wins.
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
 * The ranked state of one delivery record, in two lanes:
 * - `send`: the best event of the latest send attempt (`attempt`); a newer attempt replaces it,
 *   events of an older attempt are ignored;
 * - `human`: the best event not tied to an attempt (attempt 0: acknowledge, respond, opt out),
 *   which no resend takes away.
 * The status shown is the better of the two lanes ({@link effective}). Each lane is updated by one
 * comparison with the incoming event, which is what makes the whole order-independent.
 */
export interface RecordState {
  readonly attempt: number;
  readonly send: Observation;
  readonly human: Observation;
}

/** One event, as far as ranking is concerned. */
export interface RankedEvent {
  readonly eventId: string;
  readonly status: StatusKey;
  /** 0 for a human action; otherwise the send attempt (1 for the first send). */
  readonly attempt: number;
  readonly occurredAt: Date | undefined;
  readonly response: string;
  readonly reasonCode: string;
  readonly reasonText: string;
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

/** A record that exists and is Pending. */
export const INITIAL_STATE: RecordState = Object.freeze({ attempt: 0, send: PENDING, human: PENDING });

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
 * Applies one event to a record. An attempt-0 event (a human action) competes with the human lane
 * whatever the record's attempt; an event of a newer attempt replaces the send lane (a resend
 * starts over); an event of an older attempt changes nothing (it only goes to the timeline); an
 * event of the current attempt wins if it outranks the lane. `changed` is false when the record is
 * left as it was (duplicates, late or lower-ranked events).
 */
export function applyEvent(record: RecordState, event: RankedEvent): { record: RecordState; changed: boolean } {
  const observation = observationOf(event);
  if (event.attempt === 0) {
    if (!outranks(observation, record.human)) return { record, changed: false };
    return { record: { ...record, human: observation }, changed: true };
  }
  if (event.attempt > record.attempt) {
    return { record: { ...record, attempt: event.attempt, send: observation }, changed: true };
  }
  if (event.attempt < record.attempt || !outranks(observation, record.send)) return { record, changed: false };
  return { record: { ...record, send: observation }, changed: true };
}

/** The lane whose status the record shows: the human lane when it outranks the send lane. */
export function effective(record: RecordState): Observation {
  return outranks(record.human, record.send) ? record.human : record.send;
}

/** What a person sees of a record's state. */
export interface StatusView {
  readonly status: StatusKey;
  readonly statusLabel: string;
  /** The recipient's answer (from the human lane), empty when none. */
  readonly response: string;
  readonly reasonCode: string;
  readonly reasonText: string;
  readonly attempt: number;
}

/** The status, label, response and reason a record shows. */
export function viewOf(record: RecordState): StatusView {
  const shown = effective(record);
  return {
    status: shown.status,
    statusLabel: STATUSES[shown.status].label,
    response: record.human.response,
    reasonCode: shown.reasonCode,
    reasonText: shown.reasonText,
    attempt: record.attempt,
  };
}

/** A count per status, every status present. */
export type StatusCounts = Record<StatusKey, number>;

/** Zero for every status. */
export function emptyCounts(): StatusCounts {
  return Object.fromEntries(STATUS_KEYS.map((k) => [k, 0])) as StatusCounts;
}

/** How many records have a given pair of lane statuses (what the store can group by). */
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
