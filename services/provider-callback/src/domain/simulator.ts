import { Channel, DeliveryStatus, type DeliveryEvent } from '@dlr/contracts';
import { z } from 'zod';
import type { RawCallback } from './ingest.js';
import {
  buildDeliveryEvent,
  providerEventId,
  rawId,
  type ParseResult,
  type ProviderEvent,
  type StatusMapping,
} from './provider-event.js';

export type { StatusMapping } from './provider-event.js';

/** The provider name used in event IDs, raw-callback IDs and events. */
export const SIMULATOR = 'simulator';

/** Event types the simulator sends today and the status each means. */
export type SimulatorEventType = 'delivered' | 'bounce' | 'failed';

const ID = z.string().min(1).max(200);

/** Enough of a callback to store it raw: every authenticated callback with these is kept. */
const envelope = z.object({ eventId: ID.regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces'), type: ID });

/** A complete simulator callback (the fields we rely on; unknown fields are ignored). */
const callback = envelope.extend({
  messageId: ID,
  occurredAt: z.iso.datetime({ offset: true }),
  reason: z.string().max(2_000).optional(),
  metadata: z.object({
    deliveryId: ID,
    communicationId: ID,
    attempt: z.number().int().min(1).max(1_000_000),
  }),
});

/** A parsed simulator callback. */
export type SimulatorCallback = z.output<typeof callback>;

/** The result of reading a callback body. */
export type ParsedCallback =
  | { readonly ok: true; readonly kind: 'known'; readonly callback: SimulatorCallback; readonly mapping: StatusMapping }
  | { readonly ok: true; readonly kind: 'unmapped'; readonly eventId: string; readonly type: string }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Maps a simulator event type to a status: delivered → Delivered; bounce → Bounced Temporarily
 * (`temporary_bounce`); failed → Failed (`permanent_bounce`). Anything else is undefined (unmapped).
 */
export function mapSimulatorType(type: string): StatusMapping | undefined {
  switch (type) {
    case 'delivered':
      return { status: DeliveryStatus.DELIVERY_STATUS_DELIVERED, reasonCode: '' };
    case 'bounce':
      return { status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY, reasonCode: 'temporary_bounce' };
    case 'failed':
      return { status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode: 'permanent_bounce' };
    default:
      return undefined;
  }
}

/**
 * Parses a raw callback body. A known type must carry every field we publish; an unknown type
 * needs only `eventId` and `type` (so it can be stored raw and counted). Never throws.
 */
export function parseSimulatorCallback(rawBody: string): ParsedCallback {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    return { ok: false, problems: ['body: not valid JSON'] };
  }
  const head = envelope.safeParse(json);
  if (!head.success) return { ok: false, problems: describe(head.error) };
  const mapping = mapSimulatorType(head.data.type);
  if (mapping === undefined) return { ok: true, kind: 'unmapped', eventId: head.data.eventId, type: head.data.type };
  const full = callback.safeParse(json);
  if (!full.success) return { ok: false, problems: describe(full.error) };
  return { ok: true, kind: 'known', callback: full.data, mapping };
}

/** The `DeliveryEvent.event_id` (and Nats-Msg-Id) of a simulator event. */
export function simulatorEventId(eventId: string): string {
  return providerEventId(SIMULATOR, eventId);
}

/** The `_id` of a stored raw simulator callback. */
export function rawCallbackId(eventId: string): string {
  return rawId(SIMULATOR, eventId);
}

/** The provider event of a parsed callback (the simulator serves both channels, so none is set). */
export function simulatorEvent(parsed: Exclude<ParsedCallback, { ok: false }>, body: string): ProviderEvent {
  const base = { provider: SIMULATOR, body, channel: Channel.CHANNEL_UNSPECIFIED, query: undefined };
  if (parsed.kind === 'unmapped')
    return {
      ...base,
      eventId: parsed.eventId,
      type: parsed.type,
      mapping: undefined,
      correlation: undefined,
      providerMessageId: '',
      occurredAt: undefined,
      reasonText: '',
    };
  const cb = parsed.callback;
  return {
    ...base,
    eventId: cb.eventId,
    type: cb.type,
    mapping: parsed.mapping,
    correlation: cb.metadata,
    providerMessageId: cb.messageId,
    occurredAt: new Date(cb.occurredAt),
    reasonText: cb.reason ?? '',
  };
}

/** Reads a simulator callback body into its one event (400 when malformed). */
export function parseSimulatorEvents(body: string): ParseResult {
  const parsed = parseSimulatorCallback(body);
  return parsed.ok ? { ok: true, events: [simulatorEvent(parsed, body)] } : parsed;
}

/** Reads a stored simulator callback back. */
export function reparseSimulator(raw: RawCallback): ProviderEvent | undefined {
  const parsed = parseSimulatorEvents(raw.body);
  return parsed.ok ? parsed.events[0] : undefined;
}

/**
 * Builds the normalized event. `receivedAt` must be the first receipt time, so a repeat of the
 * same callback yields a byte-identical event.
 */
export function toDeliveryEvent(cb: SimulatorCallback, mapping: StatusMapping, receivedAt: Date): DeliveryEvent {
  const event = simulatorEvent({ ok: true, kind: 'known', callback: cb, mapping }, '');
  return buildDeliveryEvent(event, mapping, cb.metadata, receivedAt);
}

function describe(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
}
