import { channelOf, DeliveryEvent, DeliveryStatus, EventSource } from '@dlr/contracts';
import type { ChannelName } from './provider.js';

/** Reason codes dispatch puts on a Not Sent event. */
export type NotSentReason =
  | 'provider_rejected'
  | 'provider_unavailable'
  | 'send_interrupted'
  | 'invalid_address'
  | 'suppressed'
  | 'cancelled'
  | UnreachableReason;

/** Why communication says a recipient cannot be reached on any channel (`SendRequested.not_sent_reason`). */
export type UnreachableReason = 'no_address' | 'preference';

/** True for a {@link UnreachableReason}. */
export function isUnreachableReason(value: string): value is UnreachableReason {
  return value === 'no_address' || value === 'preference';
}

/** How a send attempt ended. */
export type AttemptResult =
  | { readonly state: 'sent'; readonly provider: string; readonly providerMessageId: string }
  | {
      readonly state: 'not_sent';
      readonly provider: string;
      readonly reasonCode: NotSentReason;
      /** The provider's own words, verbatim (may quote the address: never log it). */
      readonly reasonText: string;
      /** The provider's error code, when it gave one. */
      readonly providerEventType?: string;
    };

/** A send attempt as stored in `attempts` (`_id` = `<deliveryId>:<attempt>`). No address, no content. */
export interface AttemptDoc {
  _id: string;
  deliveryId: string;
  communicationId: string;
  attempt: number;
  channel: ChannelName;
  state: 'sending' | 'sent' | 'not_sent';
  createdAt: Date;
  finishedAt?: Date;
  provider?: string;
  providerMessageId?: string;
  reasonCode?: NotSentReason;
  reasonText?: string;
  providerEventType?: string;
}

/** An attempt that has a result. */
export type FinishedAttempt = AttemptDoc & { state: 'sent' | 'not_sent'; finishedAt: Date };

/** The `_id` of an attempt. */
export function attemptId(deliveryId: string, attempt: number): string {
  return `${deliveryId}:${attempt}`;
}

/** The event ID (and Nats-Msg-Id) of dispatch's result for an attempt. */
export function dispatchEventId(deliveryId: string, attempt: number, state: 'sent' | 'not_sent'): string {
  return `dispatch:${deliveryId}:${attempt}:${state}`;
}

/** True when the attempt has a result. */
export function isFinished(doc: AttemptDoc): doc is FinishedAttempt {
  return doc.state !== 'sending' && doc.finishedAt !== undefined;
}

/**
 * The Sent / Not Sent event of a finished attempt. Built only from the stored attempt, so publishing
 * it again after a crash yields the same event (same ID, same times).
 */
export function attemptEvent(doc: FinishedAttempt): DeliveryEvent {
  return DeliveryEvent.fromPartial({
    eventId: dispatchEventId(doc.deliveryId, doc.attempt, doc.state),
    deliveryId: doc.deliveryId,
    communicationId: doc.communicationId,
    channel: channelOf(doc.channel),
    attempt: doc.attempt,
    status: doc.state === 'sent' ? DeliveryStatus.DELIVERY_STATUS_SENT : DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
    source: EventSource.EVENT_SOURCE_DISPATCH,
    provider: doc.provider ?? '',
    providerEventType: doc.providerEventType ?? '',
    reasonCode: doc.reasonCode ?? '',
    reasonText: doc.reasonText ?? '',
    occurredAt: doc.finishedAt,
    receivedAt: doc.finishedAt,
    providerMessageId: doc.providerMessageId ?? '',
  });
}
