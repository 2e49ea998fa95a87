import { DeliveryEvent, DeliveryStatus, EventSource } from '@dlr/contracts';
import type { LinkRefusal } from '@dlr/links';

/** A coarse class of the browser that sent a request: never the user agent itself. */
export type UserAgentClass = 'mobile' | 'desktop' | 'bot' | 'unknown';

/** A recipient's acknowledgement (collection `feedback`). */
export interface AckRecord {
  /** `<deliveryId>:ack`: one acknowledgement per delivery record. */
  readonly _id: string;
  readonly deliveryId: string;
  readonly communicationId: string;
  readonly action: 'ack';
  /** When it was first recorded; later POSTs keep this time. */
  readonly recordedAt: Date;
  readonly userAgentClass?: UserAgentClass;
  /** Set once its event is durable in JetStream; a POST before that publishes again. */
  readonly publishedAt?: Date;
}

/** Where acknowledgements are kept. */
export interface FeedbackStore {
  /** The acknowledgement of a delivery record, if recorded. */
  findAck(deliveryId: string): Promise<AckRecord | null>;
  /** Inserts unless one with the same `_id` exists; returns the stored (first) one. */
  recordOnce(record: AckRecord): Promise<{ readonly stored: AckRecord; readonly inserted: boolean }>;
  /** Notes that the record's event is durable. */
  markPublished(id: string, at: Date): Promise<void>;
}

/** Where events go; resolves only once the event is durable. */
export interface EventPublisher {
  publish(event: DeliveryEvent): Promise<void>;
}

/** The HTTP status a refused link is answered with. */
export function refusalStatus(reason: LinkRefusal): 400 | 403 | 410 {
  switch (reason) {
    case 'malformed':
      return 400;
    case 'expired':
      return 410;
    case 'bad_signature':
    case 'unknown_key':
    case 'wrong_action':
      return 403;
  }
}

/** `_id` of a delivery record's acknowledgement. */
export function ackId(deliveryId: string): string {
  return `${deliveryId}:ack`;
}

/** The event an acknowledgement produces; built from the stored record so a re-publish is byte-identical. */
export function toAckEvent(record: AckRecord): DeliveryEvent {
  return DeliveryEvent.fromPartial({
    eventId: `feedback:${record.deliveryId}:ack`,
    deliveryId: record.deliveryId,
    communicationId: record.communicationId,
    attempt: 0,
    status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
    source: EventSource.EVENT_SOURCE_FEEDBACK,
    occurredAt: record.recordedAt,
    receivedAt: record.recordedAt,
    response: 'Acknowledged',
  });
}

const BOT =
  /bot\b|bot\/|crawl|spider|slurp|preview|scanner|headless|curl\/|wget\/|python|go-http-client|java\/|okhttp|libwww|httpclient|facebookexternalhit|safelinks|proofpoint|mimecast|barracuda|microsoft office/i;
const MOBILE = /mobi|android|iphone|ipad|ipod|windows phone/i;
const DESKTOP = /windows nt|macintosh|x11|linux|cros/i;

/** Classifies a User-Agent header coarsely (link scanners and scripts count as bots). */
export function classifyUserAgent(userAgent: string | undefined): UserAgentClass {
  if (!userAgent) return 'unknown';
  if (BOT.test(userAgent)) return 'bot';
  if (MOBILE.test(userAgent)) return 'mobile';
  if (DESKTOP.test(userAgent)) return 'desktop';
  return 'unknown';
}

/**
 * Records an acknowledgement once and publishes its event until one publish has succeeded. A
 * repeat keeps the first `recordedAt`. Throws when storing or publishing fails; the record then
 * stays, and the next POST publishes again (JetStream and consumers dedupe by event ID).
 */
export async function acknowledge(
  ports: { store: FeedbackStore; publisher: EventPublisher },
  link: { deliveryId: string; communicationId: string },
  now: Date,
  userAgentClass: UserAgentClass,
): Promise<{ recordedAt: Date; firstTime: boolean }> {
  const { stored, inserted } = await ports.store.recordOnce({
    _id: ackId(link.deliveryId),
    deliveryId: link.deliveryId,
    communicationId: link.communicationId,
    action: 'ack',
    recordedAt: now,
    userAgentClass,
  });
  if (stored.publishedAt === undefined || stored.publishedAt === null) {
    await ports.publisher.publish(toAckEvent(stored));
    // Best effort: if this write fails, a later POST only publishes a duplicate that is dropped.
    await ports.store.markPublished(stored._id, now).catch(() => undefined);
  }
  return { recordedAt: stored.recordedAt, firstTime: inserted };
}
