// JetStream is the webhooks' commit point: a verified callback is published raw (and a provider is
// answered 2xx only after the PubAck); this consumer then does the rest outside the request —
// archive in `raw_callbacks`, normalize, correlate, publish or park. Callbacks handled at
// the same time share one bulk insert (the raw store's group commit).
import { createHash } from 'node:crypto';
import { consumerNames, MAX_DELIVER, RawCallbackReceived, streamNames, subjects } from '@dlr/contracts';
import {
  perTurn,
  PoisonMessageError,
  publishDurable,
  runConsumer,
  UnavailableError,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import { ingest, type IngestOutcome, type IngestPorts } from '../../domain/ingest.js';
import type { ParseResult, ProviderEvent } from '../../domain/provider-event.js';
import { rawId } from '../../domain/provider-event.js';

/** How long a webhook waits for JetStream's PubAck before it answers 503 (the provider retries). */
export const COMMIT_TIMEOUT_MS = 5_000;

/** Commits a verified callback to JetStream; resolves after the PubAck. */
export interface RawCallbackLog {
  /** Throws an UnavailableError when JetStream did not store it within {@link COMMIT_TIMEOUT_MS}. */
  commit(callback: {
    provider: string;
    body: Buffer;
    query: string;
    receivedAt: Date;
    events: readonly ProviderEvent[];
  }): Promise<{ duplicate: boolean }>;
}

/**
 * The dedupe key of a callback: the provider's event ID when the callback carries one event (a
 * provider's retry of it is dropped by JetStream), else a hash of what was received.
 */
export function callbackMsgId(provider: string, body: Buffer, query: string, events: readonly ProviderEvent[]): string {
  const [only] = events;
  if (events.length === 1 && only !== undefined) return `callback:${rawId(provider, only.eventId)}`;
  const hash = createHash('sha256').update(query).update('\0').update(body).digest('base64url');
  return `callback:${provider}:sha256:${hash}`;
}

/** A {@link RawCallbackLog} on `<ns>.v1.callback.raw.<provider>`. */
export function rawCallbackLog(nats: NatsHandle, namespace: string): RawCallbackLog {
  const s = subjects(namespace);
  // Webhooks answered in the same event-loop turn share one socket write.
  const together = perTurn();
  return {
    commit: async ({ provider, body, query, receivedAt, events }) => {
      const data = RawCallbackReceived.encode({ provider, body, query, receivedAt }).finish();
      const msgId = callbackMsgId(provider, body, query, events);
      try {
        const ack = await together(() =>
          publishDurable(nats.js, s.rawCallback(provider), data, msgId, undefined, { timeoutMs: COMMIT_TIMEOUT_MS }),
        );
        return { duplicate: ack.duplicate };
      } catch (error) {
        throw new UnavailableError('could not commit the callback to JetStream; retry later', error);
      }
    },
  };
}

/** Reads a committed callback's body again (its signature verified at the webhook). */
export type CallbackParser = (body: Buffer, query: string) => ParseResult;

/**
 * Consumes the committed raw callbacks (durable `provider-callback-raw`): each is parsed again,
 * archived raw, and its events published or parked ({@link ingest}). A store or NATS outage is
 * retried in place; a body that no longer parses (or an unknown provider) is dead-lettered.
 */
export async function startRawCallbackConsumer(options: {
  nats: NatsHandle;
  namespace: string;
  ports: IngestPorts;
  parsers: ReadonlyMap<string, CallbackParser>;
  logger: Logger;
  concurrency?: number;
}): Promise<ConsumerHandle> {
  const { ports, parsers } = options;
  const durable = consumerNames.callbackRaw;
  const logger = options.logger.child({ consumer: durable });
  return runConsumer({
    js: options.nats.js,
    stream: streamNames(options.namespace).callbacks,
    durable,
    decode: (data) => RawCallbackReceived.decode(data),
    handle: async (callback) => {
      const parse = parsers.get(callback.provider);
      if (parse === undefined) throw new PoisonMessageError(`no webhook configured for "${callback.provider}"`);
      const parsed = parse(Buffer.from(callback.body), callback.query);
      if (!parsed.ok) throw new PoisonMessageError(`malformed callback: ${parsed.problems.join('; ')}`);
      const outcomes = await ingest(ports, parsed.events, callback.receivedAt ?? new Date());
      const summary = summarize(outcomes);
      // Per-callback lines only when something needs a look (parked, unmapped, unmatched): at
      // emergency rates one info line per callback costs more CPU than the ingest (metrics count them all).
      logger[summary.published === outcomes.length ? 'debug' : 'info'](
        { provider: callback.provider, ...summary, eventIds: outcomes.slice(0, 20).map((o) => o.eventId) },
        'callback stored',
      );
    },
    deadLetterSubject: subjects(options.namespace).deadLetter(durable),
    maxDeliver: MAX_DELIVER,
    // Many at once: their raw inserts are grouped into one bulk write by the store.
    concurrency: options.concurrency ?? 64,
    logger,
  });
}

function summarize(outcomes: readonly IngestOutcome[]) {
  const count = (kind: IngestOutcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
  return {
    published: count('published'),
    parked: count('parked'),
    unmapped: count('unmapped'),
    unmatched: count('unmatched'),
    repeats: outcomes.filter((o) => o.repeat).length,
  };
}
