// Wire messages → domain values. A message that cannot be decoded, or that lacks what reporting
// needs to act on it, throws: the consumer loop dead-letters it at once instead of retrying.
import {
  channelName,
  DeliveryEvent,
  EventSource,
  RecipientsAdded,
  RecipientsRemoved,
  type Channel,
} from '@dlr/contracts';
import { statusFromProto } from '@dlr/status-engine';
import type { AddedDelivery, ChannelKey, DeliveryEventIn, EventSourceKey } from '../../domain/model.js';

const channelKey = (channel: Channel): ChannelKey | undefined => channelName(channel);

function sourceKey(source: EventSource): EventSourceKey {
  switch (source) {
    case EventSource.EVENT_SOURCE_DISPATCH:
      return 'dispatch';
    case EventSource.EVENT_SOURCE_PROVIDER:
      return 'provider';
    case EventSource.EVENT_SOURCE_FEEDBACK:
      return 'feedback';
    case EventSource.EVENT_SOURCE_UNSPECIFIED:
    case EventSource.UNRECOGNIZED:
      return 'unspecified';
  }
}

function required(value: string, field: string): string {
  if (value.length === 0 || value.length > 512) throw new Error(`${field} is empty or longer than 512 characters`);
  return value;
}

/** Decodes a `RecipientsAdded`; throws when it is malformed or a delivery lacks an ID or channel. */
export function decodeRecipientsAdded(data: Uint8Array): {
  communicationId: string;
  deliveries: AddedDelivery[];
  occurredAt: Date | undefined;
} {
  const message = RecipientsAdded.decode(data);
  const communicationId = required(message.communicationId, 'communication_id');
  const deliveries = message.deliveries.map((d, i): AddedDelivery => {
    const channel = channelKey(d.channel);
    if (channel === undefined) throw new Error(`deliveries[${i}].channel is not email or sms`);
    return {
      deliveryId: required(d.deliveryId, `deliveries[${i}].delivery_id`),
      channel,
      recipientName: d.recipientName,
      address: d.address,
    };
  });
  return { communicationId, deliveries, occurredAt: validDate(message.occurredAt) };
}

/** Decodes a `RecipientsRemoved`; throws when it lacks a communication, an ID or the time of removal. */
export function decodeRecipientsRemoved(data: Uint8Array): {
  communicationId: string;
  deliveryIds: string[];
  removedAt: Date;
} {
  const message = RecipientsRemoved.decode(data);
  const communicationId = required(message.communicationId, 'communication_id');
  const deliveryIds = message.deliveryIds.map((id, i) => required(id, `delivery_ids[${i}]`));
  const removedAt = validDate(message.removedAt);
  if (removedAt === undefined) throw new Error('removed_at is missing');
  return { communicationId, deliveryIds, removedAt };
}

/**
 * Decodes a `DeliveryEvent`; throws when it is malformed, lacks an ID, or has a status this build
 * does not know. `now` stands in for `received_at` when the publisher did not set it.
 */
export function decodeDeliveryEvent(data: Uint8Array, now: () => Date = () => new Date()): DeliveryEventIn {
  const e = DeliveryEvent.decode(data);
  const status = statusFromProto(e.status);
  if (status === undefined) throw new Error(`status ${e.status} is not a delivery status this service knows`);
  return {
    eventId: required(e.eventId, 'event_id'),
    deliveryId: required(e.deliveryId, 'delivery_id'),
    communicationId: required(e.communicationId, 'communication_id'),
    channel: channelKey(e.channel),
    attempt: e.attempt,
    status,
    source: sourceKey(e.source),
    provider: e.provider,
    providerEventType: e.providerEventType,
    providerMessageId: e.providerMessageId,
    reasonCode: e.reasonCode,
    reasonText: e.reasonText,
    response: e.response,
    occurredAt: validDate(e.occurredAt),
    receivedAt: validDate(e.receivedAt) ?? now(),
  };
}

function validDate(d: Date | undefined): Date | undefined {
  return d !== undefined && !Number.isNaN(d.getTime()) ? d : undefined;
}
