import { DeliveryStatus, EventSource, type DeliveryEvent } from '@dlr/contracts';
import type { CallbackCounters } from './metrics.js';
import {
  buildDeliveryEvent,
  messageKey,
  rawId,
  type Correlation,
  type ProviderEvent,
  type StatusMapping,
} from './provider-event.js';

/** A provider event exactly as received, kept for audit and replay (collection `raw_callbacks`). */
export interface RawCallback {
  /** `<provider>:<provider event id>`. */
  readonly _id: string;
  readonly provider: string;
  readonly eventId: string;
  /** First receipt time. */
  readonly receivedAt: Date;
  /** The raw body (or the batch element), byte for byte (UTF-8). */
  readonly body: string;
  /** The query string, when it carries our IDs (Twilio). */
  readonly query?: string;
  readonly type: string;
  /** False when the type maps to no status (stored, counted, not published). */
  readonly mapped: boolean;
  /** The person it was about was erased: `body` is a marker, `query` gone; never reparsed. */
  readonly erased?: boolean;
}

/** Where raw callbacks are kept. */
export interface RawCallbackStore {
  /** Inserts the callback unless one with its `_id` exists; returns the stored (first) one. */
  storeOnce(doc: RawCallback): Promise<{ readonly stored: RawCallback; readonly inserted: boolean }>;
  /** The stored callback with this `_id`, if any. */
  get(id: string): Promise<RawCallback | undefined>;
  /** Notes on the stored callback why it was never published (a parked callback that expired). */
  markExpired(id: string, at: Date, reason: string): Promise<void>;
}

/** A mapped callback waiting for dispatch's Sent event of its provider message (`parked_callbacks`). */
export interface ParkedCallback {
  /** The raw callback's `_id`. */
  readonly _id: string;
  readonly provider: string;
  /** `<provider>:<normalized provider message id>`, the `_id` of the `provider_messages` it waits for. */
  readonly messageKey: string;
  readonly parkedAt: Date;
}

/** Where parked callbacks wait. */
export interface ParkedStore {
  /** Parks the callback (idempotent by `_id`). */
  park(doc: ParkedCallback): Promise<void>;
  /** The callbacks parked for one provider message. */
  forMessage(messageKey: string): Promise<ParkedCallback[]>;
  /** Up to `limit` parked callbacks, oldest first (for the periodic retry). */
  oldest(limit: number): Promise<ParkedCallback[]>;
  /** Removes a released callback. */
  remove(id: string): Promise<void>;
  /** How many callbacks wait, per provider (for the gauge: the store's count, the same from every pod). */
  countByProvider(): Promise<Map<string, number>>;
}

/** What dispatch told us about a provider message (`provider_messages`, `_id` = message key). */
export interface ProviderMessageStore {
  /** Records the message's correlation (first one wins; idempotent). */
  remember(key: string, correlation: Correlation): Promise<void>;
  /** The correlation of a provider message, if dispatch reported it. */
  find(key: string): Promise<Correlation | undefined>;
}

/** Where normalized events go; resolves only once the event is durable. */
export interface EventPublisher {
  publish(event: DeliveryEvent): Promise<void>;
}

/** Reads a stored raw callback back into its event (the callback was verified when it arrived). */
export type Reparse = (raw: RawCallback) => ProviderEvent | undefined;

/** Everything the ingest flow talks to. */
export interface IngestPorts {
  readonly store: RawCallbackStore;
  readonly parked: ParkedStore;
  readonly messages: ProviderMessageStore;
  readonly publisher: EventPublisher;
  readonly counters: CallbackCounters;
  /** The reader of each provider's stored callbacks. */
  readonly reparse: (provider: string) => Reparse | undefined;
  readonly now?: () => Date;
}

/** What happened to one authenticated, well-formed provider event. */
export interface IngestOutcome {
  /**
   * published: its DeliveryEvent is durable; parked: waiting for its message's Sent event;
   * unmapped: its type maps to no status; unmatched: mapped, but it carries neither our IDs nor a
   * provider message ID (stored and counted, cannot be published).
   */
  readonly kind: 'published' | 'parked' | 'unmapped' | 'unmatched';
  readonly eventId: string;
  readonly repeat: boolean;
}

/** How many events of one callback are stored and published at once. */
const BATCH_CONCURRENCY = 8;

/**
 * Stores each verified provider event raw (once), then publishes its normalized event, or parks
 * it when our IDs are not known yet. A repeat of an already stored event is answered from what
 * was stored first (body and receipt time), so its event is byte-identical and JetStream drops it
 * as a duplicate. Throws when storing or publishing fails (the provider should retry).
 */
export async function ingest(
  ports: IngestPorts,
  events: readonly ProviderEvent[],
  receivedAt: Date,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = new Array<IngestOutcome>(events.length);
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const i = next++;
      outcomes[i] = await ingestOne(ports, events[i] as ProviderEvent, receivedAt);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, events.length) }, worker));
  return outcomes;
}

async function ingestOne(ports: IngestPorts, event: ProviderEvent, receivedAt: Date): Promise<IngestOutcome> {
  const { provider, eventId } = event;
  ports.counters.received(provider);
  const { stored, inserted } = await ports.store.storeOnce({
    _id: rawId(provider, eventId),
    provider,
    eventId,
    receivedAt,
    body: event.body,
    ...(event.query === undefined ? {} : { query: event.query }),
    type: event.type,
    mapped: event.mapping !== undefined,
  });
  const repeat = !inserted;
  // The first receipt is the record: a repeat with a different body is answered from what we stored.
  const effective =
    stored.body === event.body && stored.query === event.query ? event : ports.reparse(provider)?.(stored);
  const mapping = effective?.mapping;
  if (!effective || !mapping) {
    ports.counters.unmapped(provider);
    return { kind: 'unmapped', eventId, repeat };
  }
  const key = effective.providerMessageId ? messageKey(provider, effective.providerMessageId) : undefined;
  const known = effective.correlation ?? (key ? await ports.messages.find(key) : undefined);
  if (known) {
    await ports.publisher.publish(buildDeliveryEvent(effective, mapping, known, stored.receivedAt));
    return { kind: 'published', eventId, repeat };
  }
  if (!key) {
    ports.counters.unmatched(provider);
    return { kind: 'unmatched', eventId, repeat };
  }
  await ports.parked.park({ _id: stored._id, provider, messageKey: key, parkedAt: ports.now?.() ?? new Date() });
  // Looked up again after parking: dispatch's Sent event may have been handled between the first
  // lookup and the park, and that handler would not have seen this callback.
  const late = await ports.messages.find(key);
  if (late) {
    await ports.publisher.publish(buildDeliveryEvent(effective, mapping, late, stored.receivedAt));
    await ports.parked.remove(stored._id);
    return { kind: 'published', eventId, repeat };
  }
  ports.counters.parked(provider);
  return { kind: 'parked', eventId, repeat };
}

/**
 * Handles one of dispatch's events: a Sent event with a provider message ID is remembered, and
 * the callbacks parked for that message are published. Returns how many were released. Throws
 * when a store or the publish fails (the consumer retries; everything here is idempotent).
 */
export async function onDispatchEvent(ports: IngestPorts, event: DeliveryEvent): Promise<number> {
  if (
    event.source !== EventSource.EVENT_SOURCE_DISPATCH ||
    event.status !== DeliveryStatus.DELIVERY_STATUS_SENT ||
    !event.provider ||
    !event.providerMessageId ||
    !event.deliveryId
  )
    return 0;
  const key = messageKey(event.provider, event.providerMessageId);
  const correlation = {
    deliveryId: event.deliveryId,
    communicationId: event.communicationId,
    attempt: event.attempt,
  };
  await ports.messages.remember(key, correlation);
  const known = (await ports.messages.find(key)) ?? correlation;
  let released = 0;
  for (const parked of await ports.parked.forMessage(key)) {
    if (await release(ports, parked, known)) released += 1;
  }
  return released;
}

/**
 * Retries up to `limit` parked callbacks against what dispatch has reported (a safety net beside
 * the consumer). Returns how many were released.
 */
export async function retryParked(ports: IngestPorts, limit: number): Promise<number> {
  let released = 0;
  for (const parked of await ports.parked.oldest(limit)) {
    const known = await ports.messages.find(parked.messageKey);
    if (known && (await release(ports, parked, known))) released += 1;
  }
  return released;
}

/**
 * Expires up to `limit` callbacks parked before `cutoff`: their provider message was never reported
 * by dispatch (a send of another system, or one whose Sent event was lost). Each keeps its raw
 * callback, marked with the reason, and leaves the parked list. Returns how many expired.
 */
export async function expireParked(ports: IngestPorts, cutoff: Date, limit: number): Promise<number> {
  const now = ports.now?.() ?? new Date();
  let expired = 0;
  for (const parked of await ports.parked.oldest(limit)) {
    if (parked.parkedAt.getTime() >= cutoff.getTime()) break;
    const waited = Math.round((now.getTime() - parked.parkedAt.getTime()) / 1_000);
    await ports.store.markExpired(
      parked._id,
      now,
      `parked ${waited} s without dispatch reporting provider message ${parked.messageKey}`,
    );
    await ports.parked.remove(parked._id);
    ports.counters.expired(parked.provider);
    expired += 1;
  }
  return expired;
}

async function release(ports: IngestPorts, parked: ParkedCallback, correlation: Correlation): Promise<boolean> {
  const raw = await ports.store.get(parked._id);
  const event = raw ? ports.reparse(raw.provider)?.(raw) : undefined;
  if (!raw || !event?.mapping) {
    // Nothing publishable behind it (cannot happen for a callback parked by this code): unpark.
    await ports.parked.remove(parked._id);
    return false;
  }
  await publishAndRelease(ports, parked._id, event, event.mapping, correlation, raw.receivedAt);
  return true;
}

async function publishAndRelease(
  ports: IngestPorts,
  id: string,
  event: ProviderEvent,
  mapping: StatusMapping,
  correlation: Correlation,
  receivedAt: Date,
): Promise<void> {
  await ports.publisher.publish(buildDeliveryEvent(event, mapping, correlation, receivedAt));
  await ports.parked.remove(id);
  ports.counters.released(event.provider);
}
