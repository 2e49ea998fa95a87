// What reporting knows about deliveries, independent of how it is stored or carried.
import type { RankState, StatusEvent, StatusKey } from '@dlr/status-engine';

/** The channel of a delivery record. */
export type ChannelKey = 'email' | 'sms';

/** Who observed an event. */
export type EventSourceKey = 'dispatch' | 'provider' | 'feedback' | 'unspecified';

/** A delivery record (recipient × channel) that now exists, from `RecipientsAdded`. */
export interface AddedDelivery {
  readonly deliveryId: string;
  readonly channel: ChannelKey;
  readonly recipientName: string;
  /** Email address or phone number: personal data, never logged. */
  readonly address: string;
}

/** One observation about one delivery record, from `DeliveryEvent` (ranked by @dlr/status-engine). */
export interface DeliveryEventIn extends StatusEvent {
  readonly deliveryId: string;
  readonly communicationId: string;
  /** Undefined when the publisher did not say (the record gets it from `RecipientsAdded`). */
  readonly channel: ChannelKey | undefined;
  readonly source: EventSourceKey;
  readonly provider: string;
  readonly providerEventType: string;
  readonly providerMessageId: string;
  /** When our system first received it (set by the publisher; reporting's clock otherwise). */
  readonly receivedAt: Date;
}

/** A stored delivery record. */
export interface DeliveryRecordRow {
  readonly id: string;
  readonly communicationId: string;
  /** Null until known (an event that arrived before `RecipientsAdded` may not carry it). */
  readonly channel: ChannelKey | null;
  /** Empty until `RecipientsAdded` has been seen. */
  readonly recipientName: string;
  readonly address: string;
  /** The ranked state the engine's rule keeps (lanes, attempt, flags). */
  readonly state: RankState;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One event of a record's timeline. */
export interface TimelineEntry {
  readonly eventId: string;
  readonly status: StatusKey;
  readonly source: EventSourceKey;
  readonly provider: string;
  readonly providerEventType: string;
  readonly providerMessageId: string;
  readonly reasonCode: string;
  readonly reasonText: string;
  readonly attempt: number;
  readonly response: string;
  readonly occurredAt: Date | null;
  readonly receivedAt: Date;
}
