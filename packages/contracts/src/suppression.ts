import { createHash } from 'node:crypto';
import type { ChannelName } from './channels.js';
import { DeliveryStatus, EventSource, type DeliveryEvent } from './gen/dlr/delivery/v1/delivery.pb.js';

/**
 * Suppressing events a replica of the suppression list (dispatch's, communication's) handles at
 * once: the events handled together share one store read and one bulk of writes.
 */
export const SUPPRESSION_REPLICA_CONCURRENCY = 64;

/** Why an address is on the suppression list. */
export type SuppressionReason = 'opted_out' | 'complaint' | 'permanent_bounce';

/** What suppressed an address; every replica keeps the first one. */
export interface SuppressionFact {
  readonly reason: SuppressionReason;
  /** The event that suppressed it. */
  readonly eventId: string;
  readonly communicationId: string;
  readonly suppressedAt: Date;
  /**
   * True only for an opt-out through one of our links (feedback-link): a preference, which an
   * emergency override may pass. A complaint, a permanent bounce or a provider opt-out (STOP,
   * list-unsubscribe at the provider) clears it on the entry for good. Absent on older entries: false.
   */
  readonly overridable?: boolean;
}

/** One entry of a suppression replica (dispatch's, communication's): `_id` is the {@link suppressionKey}, never the address. */
export interface SuppressionEntry extends SuppressionFact {
  readonly _id: string;
  readonly channel: ChannelName;
  /** The delivery record whose address it is. */
  readonly deliveryId: string;
}

/**
 * Why an event suppresses the address of its delivery record, or undefined when it does not: an
 * opt-out (feedback link or provider unsubscribe), a complaint or a permanent bounce. The one rule
 * every replica of the suppression list applies.
 */
export function suppressionReason(event: Pick<DeliveryEvent, 'status' | 'reasonCode'>): SuppressionReason | undefined {
  if (event.status === DeliveryStatus.DELIVERY_STATUS_OPTED_OUT) return 'opted_out';
  if (event.status === DeliveryStatus.DELIVERY_STATUS_FAILED) {
    if (event.reasonCode === 'complaint') return 'complaint';
    if (event.reasonCode === 'permanent_bounce') return 'permanent_bounce';
  }
  return undefined;
}

/**
 * What a suppressing event records on every replica (its reason, and when: received, else occurred,
 * else `now`), or undefined when the event does not suppress.
 */
export function suppressionFact(
  event: Pick<
    DeliveryEvent,
    'status' | 'reasonCode' | 'eventId' | 'communicationId' | 'receivedAt' | 'occurredAt' | 'source'
  >,
  now = new Date(),
): SuppressionFact | undefined {
  const reason = suppressionReason(event);
  if (reason === undefined) return undefined;
  const suppressedAt = event.receivedAt ?? event.occurredAt ?? now;
  const overridable = reason === 'opted_out' && event.source === EventSource.EVENT_SOURCE_FEEDBACK;
  return { reason, eventId: event.eventId, communicationId: event.communicationId, suppressedAt, overridable };
}

/**
 * True when an emergency override of preferences passes this suppression entry: only an opt-out
 * through one of our links, and only while nothing harder (complaint, bounce, STOP) joined it.
 */
export function passedByOverride(entry: Pick<SuppressionFact, 'overridable'> | undefined): boolean {
  return entry?.overridable === true;
}

/**
 * An address in the form suppression compares: email trimmed and lower-cased; phone with spaces,
 * dashes, dots and brackets removed (E.164 stays as it is).
 */
export function normalizeAddress(channel: ChannelName, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address.trim().replace(/[\s().-]/g, '');
}

/**
 * The key of an address on the suppression list: `s1_` + base64url(sha256(channel, normalized
 * address)). Dispatch's `suppressions._id`, and what a lift names; the address itself is never stored.
 */
export function suppressionKey(channel: ChannelName, address: string): string {
  const digest = createHash('sha256')
    .update(`${channel}\n${normalizeAddress(channel, address)}`)
    .digest();
  return `s1_${digest.toString('base64url')}`;
}
