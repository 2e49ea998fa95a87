import { DeliveryEvent, DeliveryStatus, EventSource, type Channel } from '@dlr/contracts';

/** What a provider event means for a delivery record. */
export interface StatusMapping {
  readonly status: DeliveryStatus;
  /** Our reason code (empty when the status needs none). */
  readonly reasonCode: string;
}

/** Our IDs of the delivery attempt a provider event is about. */
export interface Correlation {
  readonly deliveryId: string;
  readonly communicationId: string;
  readonly attempt: number;
}

/**
 * One provider event read from an authenticated callback, before it is stored and published.
 * A callback body may hold several (SendGrid posts arrays).
 */
export interface ProviderEvent {
  readonly provider: string;
  /** The provider's dedupe key for this event (SNS MessageId, sg_event_id, …); printable ASCII. */
  readonly eventId: string;
  /** The provider's own event type, verbatim (kept for the timeline). */
  readonly type: string;
  /** What is stored raw for this event (the callback body, or one element of a batch). */
  readonly body: string;
  /** The query string the provider called us with, when it carries our IDs (Twilio). */
  readonly query?: string;
  /** Undefined when the type maps to no status (stored raw and counted, never published). */
  readonly mapping: StatusMapping | undefined;
  /** Our IDs when the callback carries them; otherwise found by `providerMessageId` (or parked). */
  readonly correlation: Correlation | undefined;
  /** The provider's message ID as the send call returned it ('' when unknown). */
  readonly providerMessageId: string;
  /** When it happened according to the provider; undefined → the time we first received it. */
  readonly occurredAt: Date | undefined;
  /** The provider's own words (diagnostic code, response, error), verbatim and truncated. */
  readonly reasonText: string;
  readonly channel: Channel;
}

/** The result of reading an authenticated callback body. */
export type ParseResult =
  | { readonly ok: true; readonly events: readonly ProviderEvent[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Names our IDs travel under in provider tags, custom args and user variables. */
export const ID_FIELDS = {
  deliveryId: 'delivery_id',
  communicationId: 'communication_id',
  attempt: 'attempt',
} as const;

const EVENT_ID = /^[\x21-\x7e]{1,300}$/;
const OUR_ID = /^[\x21-\x7e]{1,200}$/;
const MAX_REASON = 2_000;

/** True for a provider event ID we can use in an `_id` and a Nats-Msg-Id. */
export function isEventId(value: unknown): value is string {
  return typeof value === 'string' && EVENT_ID.test(value);
}

/**
 * Reads our IDs from three raw values. All absent → `undefined` (the callback does not carry
 * them); some present but invalid or incomplete → a problem list (a malformed callback).
 */
export function readCorrelation(
  deliveryId: unknown,
  communicationId: unknown,
  attempt: unknown,
): Correlation | undefined | { readonly problems: readonly string[] } {
  if (deliveryId === undefined && communicationId === undefined && attempt === undefined) return undefined;
  const problems: string[] = [];
  if (typeof deliveryId !== 'string' || !OUR_ID.test(deliveryId)) problems.push(`${ID_FIELDS.deliveryId}: invalid`);
  if (typeof communicationId !== 'string' || !OUR_ID.test(communicationId))
    problems.push(`${ID_FIELDS.communicationId}: invalid`);
  const n =
    typeof attempt === 'number'
      ? attempt
      : typeof attempt === 'string' && /^\d{1,7}$/.test(attempt)
        ? Number(attempt)
        : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) problems.push(`${ID_FIELDS.attempt}: must be an integer from 1`);
  if (problems.length > 0) return { problems };
  return { deliveryId: deliveryId as string, communicationId: communicationId as string, attempt: n };
}

/** True when {@link readCorrelation} found problems. */
export function isCorrelationProblem(
  value: ReturnType<typeof readCorrelation>,
): value is { readonly problems: readonly string[] } {
  return value !== undefined && 'problems' in value;
}

/**
 * The provider message ID in the form both sides agree on: SendGrid's send call returns
 * `X-Message-Id` while its events carry `<that>.filter…`/`.recvd-…`; Mailgun returns
 * `<id@domain>` while its events carry `id@domain`.
 */
export function normalizeMessageId(provider: string, id: string): string {
  const trimmed = id.trim();
  if (provider === 'sendgrid') return trimmed.replace(/\.(filter|recvd-).*$/, '');
  if (provider === 'mailgun') return trimmed.replace(/^<(.*)>$/, '$1');
  return trimmed;
}

/** The `_id` of a `provider_messages` document (and a parked callback's key): `<provider>:<message id>`. */
export function messageKey(provider: string, providerMessageId: string): string {
  return `${provider}:${normalizeMessageId(provider, providerMessageId)}`;
}

/** The `_id` of a stored raw callback: `<provider>:<provider event id>`. */
export function rawId(provider: string, eventId: string): string {
  return `${provider}:${eventId}`;
}

/** The `DeliveryEvent.event_id` (and Nats-Msg-Id): `provider:<provider>:<provider event id>`. */
export function providerEventId(provider: string, eventId: string): string {
  return `provider:${provider}:${eventId}`;
}

/** Truncates the provider's words to what an event carries. */
export function reasonText(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, MAX_REASON) : '';
}

/** A Date from epoch seconds (number or numeric string), or undefined. */
export function fromEpochSeconds(value: unknown): Date | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return new Date(Math.round(n * 1000));
}

/** A Date from an ISO 8601 string, or undefined. */
export function fromIso(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Builds the normalized event. `receivedAt` must be the first receipt time, so a repeat of the
 * same callback (or a release of a parked one) yields a byte-identical event.
 */
export function buildDeliveryEvent(
  event: ProviderEvent,
  mapping: StatusMapping,
  correlation: Correlation,
  receivedAt: Date,
): DeliveryEvent {
  return DeliveryEvent.fromPartial({
    eventId: providerEventId(event.provider, event.eventId),
    deliveryId: correlation.deliveryId,
    communicationId: correlation.communicationId,
    channel: event.channel,
    attempt: correlation.attempt,
    status: mapping.status,
    source: EventSource.EVENT_SOURCE_PROVIDER,
    provider: event.provider,
    providerEventType: event.type,
    reasonCode: mapping.reasonCode,
    reasonText: event.reasonText,
    occurredAt: event.occurredAt ?? receivedAt,
    receivedAt,
    providerMessageId: event.providerMessageId,
  });
}

/** Shorthands for the mappings of SPEC §2. */
export const status = {
  sent: { status: DeliveryStatus.DELIVERY_STATUS_SENT, reasonCode: '' },
  notSent: (reasonCode: string) => ({ status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT, reasonCode }),
  temporaryBounce: { status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY, reasonCode: 'temporary_bounce' },
  delivered: { status: DeliveryStatus.DELIVERY_STATUS_DELIVERED, reasonCode: '' },
  read: { status: DeliveryStatus.DELIVERY_STATUS_READ, reasonCode: '' },
  failed: (reasonCode: string) => ({ status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode }),
  optedOut: { status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, reasonCode: 'unsubscribed' },
} as const satisfies Record<string, StatusMapping | ((code: string) => StatusMapping)>;

/** A plain JSON object (not an array, not null), or undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Parses JSON without throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
