// The ten statuses of SPEC §2: rank, label for people, snake_case key and wire value.
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

/**
 * Lowest rank of a human action (Acknowledged, Responded, Opted-out): such an event is not tied to
 * a send attempt, outranks Failed, and survives a resend.
 */
export const HUMAN_ACTION_RANK = 70;

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

/** The rank of a status (0 for Pending up to 90 for Opted-out). */
export function rankOf(status: StatusKey): number {
  return STATUSES[status].rank;
}

/** The status with this rank; throws on a rank that is not in the table (a corrupt record). */
export function statusOfRank(rank: number): StatusKey {
  const info = BY_RANK.get(rank);
  if (!info) throw new Error(`no status has rank ${rank}`);
  return info.key;
}

/** True for Acknowledged, Responded and Opted-out (ranks 70–90). */
export function isHumanAction(status: StatusKey): boolean {
  return rankOf(status) >= HUMAN_ACTION_RANK;
}
