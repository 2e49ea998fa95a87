import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SIMULATOR_SIGNATURE_HEADER, SIMULATOR_TIMESTAMP_HEADER, signSimulatorCallback } from '@dlr/contracts';
import {
  addMetricsRoute,
  backoffDelay,
  createHttpServer,
  InvalidArgumentError,
  UnauthenticatedError,
  type Logger,
} from '@dlr/platform';
import type { FastifyInstance } from 'fastify';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Agent, request } from 'undici';
import { z } from 'zod';
import {
  addressProblem,
  DEFAULT_OUTCOMES,
  magicOutcome,
  outcomeReason,
  parseOutcomeWeights,
  pickOutcome,
  type OutcomeWeights,
  type SimulatorCallback,
  type SimulatorMessage,
  type SimulatorOutbox,
  type SimulatorSendAccepted,
} from './protocol.js';

/** How the simulator behaves. Only the two secrets are required. */
export interface SimulatorOptions {
  /** Bearer key every `/v1/*` call must present. */
  apiKey: string;
  /** Secret the callbacks are signed with (HMAC-SHA256). */
  webhookSecret: string;
  /** Mean delay before the first callback, ±50% jitter (default 1500). */
  callbackDelayMs?: number;
  /** Random mix for non-magic addresses, parsed or as "delivered=0.8,bounce=0.1,failed=0.1". */
  outcomes?: OutcomeWeights | string;
  /** Fraction of send calls answered 503, 0..1 (default 0). */
  failRate?: number;
  /** Callback tries before giving up (default 10). */
  callbackMaxAttempts?: number;
  /** First retry delay of a callback; doubles each time with jitter (default 1000). */
  callbackRetryBaseMs?: number;
  /** Cap of the callback retry delay (default 60000). */
  callbackRetryMaxMs?: number;
  /** How long one callback POST may take (default 10000). */
  callbackTimeoutMs?: number;
  /** Messages kept in the in-memory outbox; the oldest are forgotten first (default 100000). */
  outboxLimit?: number;
  /** Emails whose HTML part (~2.5 KiB) is kept; older ones keep only their text (default 10000). */
  htmlLimit?: number;
  /** Source of randomness in [0, 1), for outcomes, jitter and failures (default Math.random). */
  random?: () => number;
}

/** A built simulator: the fastify app (not listening) and controls. */
export interface Simulator {
  /** Routes: `POST /v1/messages`, `GET /v1/messages`, `GET /v1/messages/<id>/raw`, `/healthz`, `/metrics`. Call `listen` on it. */
  readonly app: FastifyInstance;
  /** A snapshot of the outbox, oldest first. */
  messages(): SimulatorMessage[];
  /** How many send calls were answered each way since the start. */
  stats(): SimulatorStats;
  /** Changes the fraction of send calls answered 503 (0..1) while running. */
  setFailRate(rate: number): void;
  /** Cancels every pending or retrying callback, aborts those in flight, and closes the app. */
  stop(): Promise<void>;
}

/** Counts of send-call answers. */
export interface SimulatorStats {
  /** 202 */
  accepted: number;
  /** 422 */
  rejected: number;
  /** 503 */
  unavailable: number;
  /** 400 */
  invalid: number;
  /** 202 for a repeat of an accepted send (same Idempotency-Key): not sent again */
  repeats: number;
}

interface OutboxEntry {
  message: SimulatorMessage;
  callbackUrl: string;
  /** The exact callback body: the same bytes on every retry, re-signed with a fresh timestamp. */
  callbackBody: string;
  eventId: string;
  /**
   * The sender's W3C trace context (`traceparent`, `tracestate`), kept with the message and sent
   * on its callback, so the receiver continues the sender's trace. Real providers do not do this.
   */
  traceContext: Record<string, string>;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/** The valid W3C trace-context headers of a request (anything malformed is dropped). */
function traceContextOf(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const parent = headers.traceparent;
  if (typeof parent !== 'string' || !TRACEPARENT.test(parent)) return {};
  const state = headers.tracestate;
  return typeof state === 'string' && TRACESTATE.test(state)
    ? { traceparent: parent, tracestate: state }
    : { traceparent: parent };
}

const ID = z.string().min(1).max(200);
const METADATA = z.object({ deliveryId: ID, communicationId: ID, attempt: z.number().int().min(1).max(1_000_000) });

const SEND_REQUEST = z
  .object({
    channel: z.enum(['email', 'sms']),
    to: z.string().min(1).max(320),
    subject: z.string().max(998).optional(),
    body: z.string().min(1).max(200_000),
    html: z.string().min(1).max(500_000).optional(),
    callbackUrl: z.url({ protocol: /^https?$/ }),
    metadata: METADATA,
  })
  .superRefine((value, ctx) => {
    if (value.channel === 'email' && !value.subject)
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'is required for email' });
    if (value.channel === 'sms' && value.html !== undefined)
      ctx.addIssue({ code: 'custom', path: ['html'], message: 'is for email only' });
  });

const OUTBOX_QUERY = z.object({
  to: z.string().min(1).optional(),
  deliveryId: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  // HTML parts are ~2.5 KiB each: listed only when asked for (`include=html`), so bulk polls stay small.
  include: z.literal('html').optional(),
});

/**
 * Builds a fake email + SMS provider speaking the simulator protocol (see the package README):
 * a send API with bearer auth, magic-address outcomes, signed callbacks retried with backoff, and
 * an in-memory outbox. Logs IDs and outcomes only — never addresses, subjects or bodies.
 * Throws when `outcomes` cannot be parsed or `failRate` is outside 0..1.
 */
export async function buildSimulator(options: SimulatorOptions, logger: Logger): Promise<Simulator> {
  const random = options.random ?? Math.random;
  const weights =
    typeof options.outcomes === 'string' || options.outcomes === undefined
      ? parseOutcomeWeights(options.outcomes ?? DEFAULT_OUTCOMES)
      : options.outcomes;
  const delayMs = options.callbackDelayMs ?? 1_500;
  const maxAttempts = options.callbackMaxAttempts ?? 10;
  const retryBaseMs = options.callbackRetryBaseMs ?? 1_000;
  const retryMaxMs = options.callbackRetryMaxMs ?? 60_000;
  const timeoutMs = options.callbackTimeoutMs ?? 10_000;
  const outboxLimit = options.outboxLimit ?? 100_000;
  const htmlLimit = options.htmlLimit ?? 10_000;
  let failRate = checkRate(options.failRate ?? 0);
  const keyDigest = sha256(options.apiKey);

  const outbox = new Map<string, OutboxEntry>();
  /** Messages that still hold their HTML part, oldest first (bounded by htmlLimit: memory). */
  const withHtml = new Set<string>();
  /** Idempotency-Key → the message it created (entries of forgotten messages are ignored). */
  const byIdempotencyKey = new Map<string, string>();
  const timers = new Set<NodeJS.Timeout>();
  /** Keep-alive connections for the callbacks; closed with the app. */
  const callbackAgent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });
  const inFlight = new Set<AbortController>();
  const stats: SimulatorStats = { accepted: 0, rejected: 0, unavailable: 0, invalid: 0, repeats: 0 };
  let stopped = false;

  const app = await createHttpServer({ logger });
  // Any other content type reaches validation as text and is answered 400, not fastify's 415.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  addMetricsRoute(app);

  app.addHook('onRequest', async (request) => {
    // The matched route, not the raw URL: /%761/messages must not skip the key check.
    if (!(request.routeOptions.url ?? '').startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !timingSafeEqual(sha256(match[1]), keyDigest)) {
      throw new UnauthenticatedError('missing or invalid API key');
    }
  });

  // Public to the access check: the onRequest hook above checks the provider API key.
  app.post('/v1/messages', { config: { access: 'public' } }, async (request, reply) => {
    if (failRate > 0 && random() < failRate) {
      stats.unavailable++;
      return reply
        .status(503)
        .header('retry-after', '1')
        .send({ error: 'unavailable', message: 'the provider is temporarily unavailable; try again later' });
    }
    const parsed = SEND_REQUEST.safeParse(request.body);
    if (!parsed.success) {
      stats.invalid++;
      throw new InvalidArgumentError(
        'malformed send request',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
      );
    }
    const req = parsed.data;
    const ids = { deliveryId: req.metadata.deliveryId, attempt: req.metadata.attempt, channel: req.channel };
    // Like providers that take an Idempotency-Key: a repeat of an accepted send is answered with
    // the first message's ID and not sent again.
    const key = request.headers['idempotency-key'];
    const idempotencyKey = typeof key === 'string' && key.length > 0 && key.length <= 200 ? key : undefined;
    const earlier = idempotencyKey === undefined ? undefined : byIdempotencyKey.get(idempotencyKey);
    if (earlier !== undefined && outbox.has(earlier)) {
      stats.repeats++;
      logger.info({ ...ids, messageId: earlier }, 'repeat of an accepted send (same Idempotency-Key); not sent again');
      return reply.status(202).send({ messageId: earlier });
    }
    const problem = addressProblem(req.channel, req.to);
    const outcome =
      problem === undefined ? (magicOutcome(req.channel, req.to) ?? pickOutcome(weights, random)) : 'reject';
    if (outcome === 'reject') {
      stats.rejected++;
      logger.info({ ...ids, outcome }, 'send refused');
      return reply
        .status(422)
        .send({ error: 'rejected', message: problem ?? outcomeReason(req.channel, 'reject') ?? 'rejected' });
    }
    stats.accepted++;
    const messageId = `sim_${randomBytes(12).toString('base64url')}`;
    const eventId = `sev_${randomBytes(12).toString('base64url')}`;
    const acceptedAt = new Date();
    const message: SimulatorMessage = {
      messageId,
      channel: req.channel,
      to: req.to,
      ...(req.subject === undefined ? {} : { subject: req.subject }),
      body: req.body,
      ...(req.html === undefined ? {} : { html: req.html }),
      metadata: req.metadata,
      acceptedAt: acceptedAt.toISOString(),
      outcome,
      callbackStatus: 'pending',
      callbackAttempts: 0,
    };
    const firstDelay = Math.round(delayMs * (0.5 + random()));
    const reason = outcomeReason(req.channel, outcome);
    const callback: SimulatorCallback = {
      eventId,
      messageId,
      type: outcome,
      // The event "happens" when the callback is first due, as with a real delivery receipt.
      occurredAt: new Date(acceptedAt.getTime() + firstDelay).toISOString(),
      ...(reason === undefined ? {} : { reason }),
      metadata: req.metadata,
    };
    const entry: OutboxEntry = {
      message,
      callbackUrl: req.callbackUrl,
      callbackBody: JSON.stringify(callback),
      eventId,
      traceContext: traceContextOf(request.headers),
    };
    outbox.set(messageId, entry);
    if (idempotencyKey !== undefined) byIdempotencyKey.set(idempotencyKey, messageId);
    if (message.html !== undefined) withHtml.add(messageId);
    while (withHtml.size > htmlLimit) {
      const oldest = withHtml.values().next().value!;
      withHtml.delete(oldest);
      const kept = outbox.get(oldest);
      if (kept !== undefined) delete kept.message.html;
    }
    while (outbox.size > outboxLimit) {
      const oldest = outbox.keys().next();
      if (oldest.done === true) break;
      outbox.delete(oldest.value);
    }
    schedule(entry, 1, firstDelay);
    logger.debug({ ...ids, messageId, outcome }, 'message accepted');
    const accepted: SimulatorSendAccepted = { messageId };
    return reply.status(202).send(accepted);
  });

  app.get('/v1/messages', { config: { access: 'public' } }, async (request) => {
    const parsed = OUTBOX_QUERY.safeParse(request.query);
    if (!parsed.success) {
      throw new InvalidArgumentError(
        'malformed outbox query',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      );
    }
    const { to, deliveryId, limit, include } = parsed.data;
    const matches: SimulatorMessage[] = [];
    for (const { message } of outbox.values()) {
      if (to !== undefined && message.to !== to) continue;
      if (deliveryId !== undefined && message.metadata.deliveryId !== deliveryId) continue;
      matches.push(message);
    }
    const shown = matches.slice(-limit);
    const result: SimulatorOutbox = {
      messages: include === 'html' ? shown : shown.map(({ html: _html, ...rest }) => rest),
    };
    return result;
  });

  // One email as a mail client would receive it (RFC 5322; multipart/alternative when it has an HTML
  // part), to open in a mail client or parse: what a person or a test reads of what was sent.
  app.get('/v1/messages/:messageId/raw', { config: { access: 'public' } }, async (request, reply) => {
    const { messageId } = request.params as { messageId: string };
    const entry = outbox.get(messageId);
    if (entry === undefined || entry.message.channel !== 'email') {
      return reply.status(404).send({ error: 'not_found', message: 'no email with this message ID in the outbox' });
    }
    const { message } = entry;
    const mail = new MailComposer({
      from: 'Provider simulator <outbox@provider-simulator.invalid>',
      to: message.to,
      subject: message.subject ?? '',
      text: message.body,
      ...(message.html === undefined ? {} : { html: message.html }),
      messageId: `<${message.messageId}@provider-simulator.invalid>`,
      date: new Date(message.acceptedAt),
      headers: { 'X-Simulator-Delivery-Id': message.metadata.deliveryId },
    });
    const raw = await mail.compile().build();
    return reply.type('message/rfc822').send(raw);
  });

  const cancelAll = () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const c of inFlight) c.abort();
    for (const { message } of outbox.values()) {
      if (message.callbackStatus === 'pending' || message.callbackStatus === 'retrying') {
        message.callbackStatus = 'cancelled';
      }
    }
  };
  app.addHook('onClose', async () => {
    cancelAll();
    await callbackAgent.close().catch(() => undefined);
  });

  function schedule(entry: OutboxEntry, attempt: number, delay: number): void {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void deliver(entry, attempt);
    }, delay);
    timers.add(timer);
  }

  async function deliver(entry: OutboxEntry, attempt: number): Promise<void> {
    if (stopped) return;
    const { message } = entry;
    message.callbackAttempts = attempt;
    const timestamp = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), timeoutMs);
    inFlight.add(controller);
    let outcome: { ok: true } | { ok: false; status?: number; error?: string };
    try {
      // undici's request, not fetch: a callback per message is the simulator's hottest path.
      const response = await request(entry.callbackUrl, {
        method: 'POST',
        headers: {
          ...entry.traceContext,
          'content-type': 'application/json',
          [SIMULATOR_TIMESTAMP_HEADER]: String(timestamp),
          [SIMULATOR_SIGNATURE_HEADER]: signSimulatorCallback(options.webhookSecret, timestamp, entry.callbackBody),
        },
        body: entry.callbackBody,
        signal: controller.signal,
        dispatcher: callbackAgent,
      });
      await response.body.dump().catch(() => undefined);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      outcome = ok ? { ok: true } : { ok: false, status: response.statusCode };
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error.name : 'error' };
    } finally {
      clearTimeout(timeout);
      inFlight.delete(controller);
    }
    const ids = { messageId: message.messageId, eventId: entry.eventId, attempt };
    if (stopped) {
      message.callbackStatus = 'cancelled';
    } else if (outcome.ok) {
      message.callbackStatus = 'delivered';
      logger.debug(ids, 'callback delivered');
    } else if (attempt >= maxAttempts) {
      message.callbackStatus = 'gave_up';
      logger.warn({ ...ids, status: outcome.status, error: outcome.error }, 'callback failed; giving up');
    } else {
      message.callbackStatus = 'retrying';
      const delay = backoffDelay(attempt, retryBaseMs, retryMaxMs);
      logger.info({ ...ids, status: outcome.status, error: outcome.error, delay }, 'callback failed; will retry');
      schedule(entry, attempt + 1, delay);
    }
  }

  return {
    app,
    messages: () => [...outbox.values()].map(({ message }) => ({ ...message })),
    stats: () => ({ ...stats }),
    setFailRate: (rate) => {
      failRate = checkRate(rate);
    },
    stop: async () => {
      cancelAll();
      await app.close();
    },
  };
}

function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new Error('failRate must be between 0 and 1');
  return rate;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
