import type { DeliveryEvent } from '@dlr/contracts';
import type { CallbackCounters } from './metrics.js';
import { parseSimulatorCallback, rawCallbackId, SIMULATOR, toDeliveryEvent, type ParsedCallback } from './simulator.js';

/** A provider callback exactly as received, kept for audit and replay (collection `raw_callbacks`). */
export interface RawCallback {
  /** `<provider>:<provider event id>`. */
  readonly _id: string;
  readonly provider: string;
  readonly eventId: string;
  /** First receipt time. */
  readonly receivedAt: Date;
  /** The raw body, byte for byte (UTF-8). */
  readonly body: string;
  readonly type: string;
  /** False when the type maps to no status (stored, counted, not published). */
  readonly mapped: boolean;
}

/** Where raw callbacks are kept. */
export interface RawCallbackStore {
  /** Inserts the callback unless one with its `_id` exists; returns the stored (first) one. */
  storeOnce(doc: RawCallback): Promise<{ readonly stored: RawCallback; readonly inserted: boolean }>;
}

/** Where normalized events go; resolves only once the event is durable. */
export interface EventPublisher {
  publish(event: DeliveryEvent): Promise<void>;
}

/** What happened to an authenticated, well-formed callback. */
export type IngestOutcome =
  | { readonly kind: 'published'; readonly eventId: string; readonly repeat: boolean }
  | { readonly kind: 'unmapped'; readonly eventId: string; readonly repeat: boolean };

/**
 * Stores a verified simulator callback raw (once), then publishes its normalized event. A repeat
 * of an already stored callback republishes the event built from the stored body and first receipt
 * time, so it is byte-identical and JetStream drops it as a duplicate. Throws when storing or
 * publishing fails (the provider should retry).
 */
export async function ingestSimulatorCallback(
  ports: { store: RawCallbackStore; publisher: EventPublisher; counters: CallbackCounters },
  parsed: Exclude<ParsedCallback, { ok: false }>,
  rawBody: string,
  now: Date,
): Promise<IngestOutcome> {
  const eventId = parsed.kind === 'known' ? parsed.callback.eventId : parsed.eventId;
  const type = parsed.kind === 'known' ? parsed.callback.type : parsed.type;
  ports.counters.received(SIMULATOR);
  const { stored, inserted } = await ports.store.storeOnce({
    _id: rawCallbackId(eventId),
    provider: SIMULATOR,
    eventId,
    receivedAt: now,
    body: rawBody,
    type,
    mapped: parsed.kind === 'known',
  });
  const repeat = !inserted;
  // The first receipt is the record: a repeat with a different body is answered from what we stored.
  const effective = stored.body === rawBody ? parsed : parseSimulatorCallback(stored.body);
  if (!effective.ok || effective.kind === 'unmapped') {
    ports.counters.unmapped(SIMULATOR);
    return { kind: 'unmapped', eventId, repeat };
  }
  await ports.publisher.publish(toDeliveryEvent(effective.callback, effective.mapping, stored.receivedAt));
  return { kind: 'published', eventId, repeat };
}
