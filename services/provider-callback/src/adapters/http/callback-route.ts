import { InvalidArgumentError, UnauthenticatedError } from '@dlr/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ingest, type IngestOutcome, type IngestPorts } from '../../domain/ingest.js';
import type { RejectReason } from '../../domain/metrics.js';
import type { ProviderEvent } from '../../domain/provider-event.js';

/** What a provider's reader made of an authenticated-or-not request. */
export type ReadResult =
  /** Verified and well formed: store and publish these. */
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
 * bytes (401) → shape (400) → store raw → publish (or park) → 2xx after the PubAck (503 when a
 * store or the publish fails, so the provider retries). All events published → 204; otherwise 202
 * with what happened (unmapped types are stored and counted, parked ones wait for their Sent
 * event). Nothing is stored or published for a refused callback.
 */
export async function callbackRoutes(
  app: FastifyInstance,
  options: { webhooks: readonly ProviderWebhook[]; ports: IngestPorts; now?: () => Date },
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
        options.ports.counters.rejected(provider, read.reason);
        request.log.warn(
          { provider, reason: read.reason, problems: read.problems },
          `callback refused: ${read.message}`,
        );
        if (read.reason === 'signature') throw new UnauthenticatedError(read.message);
        throw new InvalidArgumentError(read.message, read.problems);
      }
      if (read.kind === 'handled') return reply.status(read.status).send(read.body);
      const outcomes = await ingest(options.ports, read.events, receivedAt);
      const summary = summarize(outcomes);
      // Per-callback lines only when something needs a look (parked, unmapped, unmatched): at
      // emergency rates one info line per callback cost more CPU than the ingest (metrics count them all).
      const level = summary.published === outcomes.length ? 'debug' : 'info';
      request.log[level](
        { provider, ...summary, eventIds: outcomes.slice(0, 20).map((o) => o.eventId) },
        'callback stored',
      );
      if (summary.published === outcomes.length) return reply.status(204).send();
      return reply.status(202).send({ status: 'stored', mapped: summary.unmapped < outcomes.length, ...summary });
    });
  }
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

/** The first value of a header. */
export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
