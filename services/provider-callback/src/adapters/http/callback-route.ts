import { InvalidArgumentError, UnauthenticatedError } from '@dlr/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallbackCounters, RejectReason } from '../../domain/metrics.js';
import type { ParseResult, ProviderEvent } from '../../domain/provider-event.js';
import type { RawCallbackLog } from '../nats/raw-callbacks.js';

/** What a provider's reader made of an authenticated-or-not request. */
export type ReadResult =
  /** Verified and well formed: commit the callback (these are its events). */
  | { readonly kind: 'events'; readonly events: readonly ProviderEvent[] }
  /** Refused before anything is stored (401 for `signature`, 400 for `malformed`). */
  | {
      readonly kind: 'refused';
      readonly reason: RejectReason;
      readonly message: string;
      readonly problems?: readonly string[];
    }
  /** Verified and handled without events (e.g. an SNS subscription confirmation). */
  | { readonly kind: 'handled'; readonly status: number; readonly body: Readonly<Record<string, unknown>> };

/** One provider's webhook: where it is served and how a request is verified and read. */
export interface ProviderWebhook {
  readonly provider: string;
  readonly path: string;
  /** Largest body accepted (413 beyond, before anything is read into memory). */
  readonly bodyLimit: number;
  /**
   * Verifies the request on its raw bytes, then reads it. Throws only when a dependency fails
   * (e.g. an UnavailableError fetching a certificate → 503, so the provider retries).
   */
  read(request: FastifyRequest, raw: Buffer, receivedAt: Date): Promise<ReadResult>;
  /**
   * Reads a committed callback again (body and query string as received), without verifying: its
   * consumer runs after the signature's time window may have passed. Same events as `read`.
   */
  readonly parse: (raw: Buffer, query: string) => ParseResult;
}

/** Refuses a callback whose signature (or timestamp, topic, certificate) did not verify. */
export const badSignature = (message: string): ReadResult => ({ kind: 'refused', reason: 'signature', message });

/** Refuses a verified callback that is not what the provider documents. */
export const malformed = (problems: readonly string[]): ReadResult => ({
  kind: 'refused',
  reason: 'malformed',
  message: 'malformed callback',
  problems,
});

/**
 * Serves provider webhooks, one flow for all: size (413) → the provider's verification on the raw
 * bytes (401) → shape (400) → commit the raw callback to JetStream → 202 after the PubAck (503 when
 * JetStream cannot commit within its deadline, so the provider retries). Archiving, normalizing and
 * publishing happen after, in provider-callback's consumer, so no webhook waits on the store.
 * Nothing is committed for a refused callback.
 */
export async function callbackRoutes(
  app: FastifyInstance,
  options: {
    webhooks: readonly ProviderWebhook[];
    log: RawCallbackLog;
    counters: CallbackCounters;
    now?: () => Date;
  },
): Promise<void> {
  const now = options.now ?? (() => new Date());
  // Encapsulated to this plugin: every body stays the exact bytes its signature covers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  for (const webhook of options.webhooks) {
    const { provider } = webhook;
    // Public to the access check: each provider's own signature is verified below.
    app.post(webhook.path, { bodyLimit: webhook.bodyLimit, config: { access: 'public' } }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const receivedAt = now();
      const read = await webhook.read(request, raw, receivedAt);
      if (read.kind === 'refused') {
        options.counters.rejected(provider, read.reason);
        request.log.warn(
          { provider, reason: read.reason, problems: read.problems },
          `callback refused: ${read.message}`,
        );
        if (read.reason === 'signature') throw new UnauthenticatedError(read.message);
        throw new InvalidArgumentError(read.message, read.problems);
      }
      if (read.kind === 'handled') return reply.status(read.status).send(read.body);
      const q = request.url.indexOf('?');
      const query = q < 0 ? '' : request.url.slice(q + 1);
      try {
        const { duplicate } = await options.log.commit({ provider, body: raw, query, receivedAt, events: read.events });
        request.log.debug({ provider, events: read.events.length, duplicate }, 'callback committed');
      } catch (error) {
        // Answered 503 (the error handler maps UnavailableError): the provider retries later.
        request.log.error({ provider, err: String(error) }, 'callback not committed to JetStream: answering 503');
        throw error;
      }
      return reply.status(202).send({ status: 'accepted', events: read.events.length });
    });
  }
}

/** The first value of a header. */
export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
