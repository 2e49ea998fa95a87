// What the engine is fed: one observation about one delivery record.
import type { StatusKey } from './statuses.js';

/** One event, as far as ranking is concerned. */
export interface RankedEvent {
  /** Globally unique and stable for one observation: the dedupe key. */
  readonly eventId: string;
  readonly status: StatusKey;
  /** The send attempt (1 for the first send); 0 when not tied to an attempt (a human action). */
  readonly attempt: number;
  /** When it happened according to its source (the provider's clock); breaks ties of equal rank. */
  readonly occurredAt: Date | undefined;
  /** The recipient's answer for Acknowledged / Responded; empty otherwise. */
  readonly response: string;
  /** Machine-readable reason (see `REASON_CODES`); empty when none. */
  readonly reasonCode: string;
  /** The provider's own words, verbatim; empty when none. */
  readonly reasonText: string;
  /** A suspected bot hit (scanner prefetch, HEAD request): kept in the timeline, never ranked. */
  readonly suspectedBot?: boolean;
}

/** One event with what its timeline entry shows besides the ranked fields. */
export interface StatusEvent extends RankedEvent {
  /** When our system first received it (our clock). */
  readonly receivedAt: Date;
  /** Who observed it (e.g. "dispatch", "provider", "feedback"). */
  readonly source?: string;
  /** Provider name (e.g. "simulator", "ses"), when a provider was involved. */
  readonly provider?: string;
  /** The provider's own event type, verbatim. */
  readonly providerEventType?: string;
  /** The provider's message ID, when known. */
  readonly providerMessageId?: string;
}
