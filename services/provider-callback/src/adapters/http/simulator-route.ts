import { InvalidArgumentError, UnauthenticatedError } from '@dlr/platform';
import type { FastifyInstance } from 'fastify';
import { ingestSimulatorCallback, type EventPublisher, type RawCallbackStore } from '../../domain/ingest.js';
import type { CallbackCounters } from '../../domain/metrics.js';
import { parseSimulatorCallback, SIMULATOR } from '../../domain/simulator.js';
import { verifySimulatorSignature } from '@dlr/provider-simulator';

/** What the simulator webhook needs. */
export interface SimulatorRouteOptions {
  readonly secret: string;
  readonly toleranceSeconds: number;
  readonly store: RawCallbackStore;
  readonly publisher: EventPublisher;
  readonly counters: CallbackCounters;
  readonly now?: () => Date;
}

/**
 * `POST /v1/callbacks/simulator`: size (413, by fastify's bodyLimit) → signature and timestamp on
 * the raw bytes (401) → JSON and shape (400) → store raw → publish → 204 after the PubAck (503 if
 * storing or publishing fails, so the provider retries). An unknown type is stored, counted and
 * answered 202 without publishing. Nothing is stored or published for a refused callback.
 */
export async function simulatorRoutes(app: FastifyInstance, options: SimulatorRouteOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
  // Encapsulated to this plugin: the body stays the exact bytes the signature covers.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/v1/callbacks/simulator', async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const receivedAt = now();
    const verified = verifySimulatorSignature(
      options.secret,
      header(request.headers['x-simulator-timestamp']),
      raw,
      header(request.headers['x-simulator-signature']),
      Math.floor(receivedAt.getTime() / 1000),
      options.toleranceSeconds,
    );
    if (!verified) {
      options.counters.rejected(SIMULATOR, 'signature');
      request.log.warn({ provider: SIMULATOR }, 'callback refused: bad signature or timestamp outside the window');
      throw new UnauthenticatedError('signature or timestamp did not verify');
    }
    const body = raw.toString('utf8');
    const parsed = parseSimulatorCallback(body);
    if (!parsed.ok) {
      options.counters.rejected(SIMULATOR, 'malformed');
      request.log.warn({ provider: SIMULATOR, problems: parsed.problems }, 'callback refused: malformed');
      throw new InvalidArgumentError('malformed callback', parsed.problems);
    }
    const outcome = await ingestSimulatorCallback(options, parsed, body, receivedAt);
    if (outcome.kind === 'unmapped') {
      request.log.warn({ provider: SIMULATOR, eventId: outcome.eventId }, 'callback type not mapped: stored raw');
      return reply.status(202).send({ status: 'stored', mapped: false });
    }
    request.log.info({ provider: SIMULATOR, eventId: outcome.eventId, repeat: outcome.repeat }, 'callback published');
    return reply.status(204).send();
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
