import { setTimeout as delay } from 'node:timers/promises';
import {
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { context, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { redactUrl } from '@dlr/core';
import { UnavailableError } from './errors.js';
import type { Logger } from './logger.js';
import { platformMetrics, subjectLabel, trackConsumerLag } from './metrics.js';
import { backoffDelay, retry } from './retry.js';
import { isTransient } from './transient.js';
import { extractNatsHeaders, injectNatsHeaders, markFailed, tracer } from './tracing.js';

/** An open NATS connection with JetStream clients. */
export interface NatsHandle {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Resolves when the server answers a round trip and JetStream is enabled (used by /readyz). */
  ping(): Promise<void>;
  /** Drains subscriptions and pending publishes, then closes. */
  drain(): Promise<void>;
}

/** An error's text with any of the servers' URLs in it redacted (the client may quote the URL it dialled). */
function redactErr(error: unknown, servers: readonly string[]): string {
  let text = String(error);
  for (const server of servers) text = text.replaceAll(server, redactUrl(server));
  return text;
}

/**
 * Connects to NATS with JetStream, retrying with backoff; reconnects forever once connected.
 * Throws an {@link UnavailableError} naming the servers when it cannot connect at all.
 */
export async function connectNats(options: {
  servers: string;
  name: string;
  logger: Logger;
  attempts?: number;
}): Promise<NatsHandle> {
  const servers = options.servers.split(',').map((s) => s.trim());
  // What logs and errors show: credentials in a URL (user:pass@, token@) never leave the process.
  const shown = servers.map(redactUrl);
  const nc = await retry(
    () =>
      connect({
        servers,
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        // Without this the client builds two Error objects (for async stack traces) per request,
        // i.e. per JetStream publish (a cost seen in profiles; see docs/decisions.md).
        noAsyncTraces: true,
      }),
    {
      attempts: options.attempts ?? 10,
      onRetry: (error, attempt, delayMs) =>
        options.logger.warn(
          { servers: shown, attempt, delayMs, err: redactErr(error, servers) },
          'NATS not reachable yet; retrying',
        ),
    },
  ).catch((error: unknown) => {
    throw new UnavailableError(
      `Cannot connect to NATS at ${shown.join(', ')}: ${redactErr(error, servers)}. Check NATS_URL and that nats-server runs with JetStream (-js).`,
      error,
    );
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') options.logger.warn({ event: s.type }, 'NATS connection');
    }
  })();
  const jsm = await jetstreamManager(nc).catch((error: unknown) => {
    throw new UnavailableError(`NATS at ${shown.join(', ')} has no JetStream: start nats-server with -js.`, error);
  });
  options.logger.info({ servers: shown }, 'connected to NATS JetStream');
  return {
    nc,
    js: jetstream(nc),
    jsm,
    ping: async () => {
      await nc.flush();
      await jsm.getAccountInfo();
    },
    drain: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}

/** A durable consumer to create on a stream. */
export interface ConsumerSpec {
  stream: string;
  config: Partial<ConsumerConfig> & { durable_name: string };
}

/** Creates or updates streams and durable consumers so the server matches the code; idempotent. */
export async function ensureTopology(
  jsm: JetStreamManager,
  streams: readonly (Partial<StreamConfig> & { name: string; subjects: string[] })[],
  consumers: readonly ConsumerSpec[],
): Promise<void> {
  for (const stream of streams) {
    const existing = await jsm.streams.info(stream.name).catch(() => null);
    if (existing === null) await jsm.streams.add(stream);
    else await jsm.streams.update(stream.name, stream);
  }
  for (const consumer of consumers) {
    const existing = await jsm.consumers.info(consumer.stream, consumer.config.durable_name).catch(() => null);
    if (existing === null) await jsm.consumers.add(consumer.stream, consumer.config);
    else {
      // The client merges an update into the server's config: a consumer that moves between one
      // filter and several must have the other field cleared, or the server refuses both at once.
      const { filter_subject, filter_subjects } = consumer.config;
      await jsm.consumers.update(consumer.stream, consumer.config.durable_name, {
        ...consumer.config,
        filter_subject: filter_subjects === undefined ? filter_subject : undefined,
        filter_subjects,
      });
    }
  }
}

/**
 * Starts the consumer span of one message (`process <subject>`), continuing the publisher's trace
 * from the message headers; the caller ends it. `parent` is the publisher's context.
 */
export function startConsumerSpan(msg: JsMsg, durable: string): { span: Span; parent: Context } {
  const parent = extractNatsHeaders(msg.headers);
  const span = tracer.startSpan(
    `process ${subjectLabel(msg.subject)}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': msg.subject,
        'messaging.consumer.group.name': durable,
        'messaging.nats.stream_sequence': msg.seq,
        'messaging.nats.delivery_count': msg.info.deliveryCount,
      },
    },
    parent,
  );
  return { span, parent };
}

/**
 * Publishes to JetStream and resolves only when the stream has stored the message.
 * `msgId` becomes `Nats-Msg-Id`, so a repeat within the stream's duplicate window is dropped.
 * Waits `timeoutMs` (default 10 s) for the PubAck, then throws (nats.js `TimeoutError`).
 * The publish is a producer span of the active trace, whose context travels in the message
 * headers (W3C `traceparent`), so the consumer's span continues the same trace.
 */
export async function publishDurable(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  msgId: string,
  extraHeaders?: Readonly<Record<string, string>>,
  options: { timeoutMs?: number } = {},
): Promise<PubAck> {
  const parent = context.active();
  const label = subjectLabel(subject);
  const span = tracer.startSpan(
    `publish ${label}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': subject,
        'messaging.message.id': msgId,
      },
    },
    parent,
  );
  const h = natsHeaders();
  for (const [k, v] of Object.entries(extraHeaders ?? {})) h.set(k, v);
  injectNatsHeaders(h, trace.setSpan(parent, span));
  try {
    const ack = await js.publish(subject, data, { msgID: msgId, headers: h, timeout: options.timeoutMs ?? 10_000 });
    span.setAttribute('messaging.nats.duplicate', ack.duplicate);
    platformMetrics.eventsPublished.inc({ subject: label });
    return ack;
  } catch (error) {
    markFailed(span, error);
    platformMetrics.publishFailures.inc({ subject: label });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Starts the sends queued during one event-loop turn together (at `setImmediate`), so the NATS
 * client writes their PUBs to its socket in one write: an edge that publishes once per HTTP
 * request otherwise pays a socket write per request, much of its CPU (see docs/decisions.md). Each
 * send keeps the trace context it was queued in.
 */
export function perTurn(): <T>(send: () => Promise<T>) => Promise<T> {
  let queue: (() => void)[] = [];
  const run = () => {
    const due = queue;
    queue = [];
    for (const start of due) start();
  };
  return (send) =>
    new Promise((resolve, reject) => {
      const active = context.active();
      if (queue.length === 0) setImmediate(run);
      queue.push(() => {
        try {
          context.with(active, send).then(resolve, reject);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
}

/** Thrown by a decoder or handler for a message that can never be processed (goes to dead-letter at once). */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** Context given to a message handler. */
export interface MessageContext {
  readonly subject: string;
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** A header of the message, if set. */
  header(name: string): string | undefined;
}

/** The {@link MessageContext} of a delivered message. */
export function messageContext(msg: JsMsg): MessageContext {
  return {
    subject: msg.subject,
    deliveryCount: msg.info.deliveryCount,
    streamSequence: msg.seq,
    header: (name) => (msg.headers?.has(name) ? msg.headers.get(name) : undefined),
  };
}

/** A running consumer loop. */
export interface ConsumerHandle {
  /** Stops fetching, waits for in-flight handlers, then resolves. */
  stop(): Promise<void>;
}

/**
 * Starts consumers in order, as one handle that stops them all. If one cannot start, those already
 * started are stopped and the error is thrown: nothing is left consuming.
 */
export async function startConsumers(starters: readonly (() => Promise<ConsumerHandle>)[]): Promise<ConsumerHandle> {
  const handles: ConsumerHandle[] = [];
  try {
    for (const start of starters) handles.push(await start());
  } catch (error) {
    await Promise.all(handles.map((h) => h.stop()));
    throw error;
  }
  return { stop: async () => void (await Promise.all(handles.map((h) => h.stop()))) };
}

/** Most time between two in-place retries of a handler whose dependency is down. */
const TRANSIENT_MAX_DELAY_MS = 10_000;

/**
 * Consumes a durable JetStream consumer with explicit acks and bounded concurrency.
 * Handler success → ack. A transient failure ({@link isTransient}: store or NATS down or timed out)
 * is retried in place with capped backoff for as long as it lasts, the message kept alive with
 * `working()`, so its delivery count does not grow and it is never dead-lettered (on `stop()` it is
 * nak'd). An undecodable message or a {@link PoisonMessageError} is copied to `deadLetterSubject` and
 * terminated at once; any other failure is nak'd with backoff and dead-lettered after `maxDeliver`
 * deliveries.
 */
export async function runConsumer<T>(options: {
  js: JetStreamClient;
  stream: string;
  durable: string;
  decode: (data: Uint8Array) => T;
  handle: (message: T, ctx: MessageContext) => Promise<void>;
  deadLetterSubject: string;
  maxDeliver: number;
  concurrency: number;
  logger: Logger;
  /** Backoff of the in-place retries of transient failures (default 200 ms doubling to 10 s). */
  transientRetry?: { initialDelayMs: number; maxDelayMs: number };
}): Promise<ConsumerHandle> {
  const { logger } = options;
  const transientDelay = options.transientRetry ?? { initialDelayMs: 200, maxDelayMs: TRANSIENT_MAX_DELAY_MS };
  const consumer = await options.js.consumers.get(options.stream, options.durable);
  const keepAlive = await keepHeldAlive(consumer);
  const held = keepAlive.held;
  const messages = await consumer.consume({ max_messages: Math.max(options.concurrency * 2, 16) });
  const untrackLag = trackConsumerLag({
    stream: options.stream,
    consumer: options.durable,
    info: () => consumer.info(false),
  });
  const inFlight = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  // Ends the in-place retries (and their waits) at once when stopping.
  const stopping = new AbortController();

  const deadLetter = (msg: JsMsg, reason: string): Promise<void> =>
    deadLetterOrRedeliver(
      { js: options.js, subject: options.deadLetterSubject, durable: options.durable, logger },
      msg,
      reason,
    );

  const handleOne = async (msg: JsMsg): Promise<void> => {
    const ctx = messageContext(msg);
    let decoded: T;
    try {
      decoded = options.decode(msg.data);
    } catch (error) {
      await deadLetter(msg, `undecodable payload: ${String(error)}`);
      throw error;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await options.handle(decoded, ctx);
        // A plain ack, not a confirmed one: waiting for the server's confirmation holds the handler's
        // slot for a round trip. An ack that is lost only means a redelivery; every handler is idempotent.
        msg.ack();
        platformMetrics.eventsConsumed.inc({ consumer: options.durable, subject: subjectLabel(msg.subject) });
        if (attempt > 1) logger.info({ seq: msg.seq, attempts: attempt }, 'handled after its dependency came back');
        return;
      } catch (error) {
        platformMetrics.handlerErrors.inc({ consumer: options.durable, subject: subjectLabel(msg.subject) });
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (isTransient(error) && !(error instanceof PoisonMessageError)) {
          if (stopping.signal.aborted) {
            msg.nak();
            throw error;
          }
          const pause = backoffDelay(attempt, transientDelay.initialDelayMs, transientDelay.maxDelayMs);
          // Once, then every 10th attempt: an outage of minutes must not flood the log.
          if (attempt === 1 || attempt % 10 === 0) {
            logger.warn(
              { subject: msg.subject, seq: msg.seq, attempt, delay: pause, reason },
              'dependency unavailable; retrying in place (not counted toward dead-lettering)',
            );
          }
          msg.working();
          if (await sleepUnlessAborted(pause, stopping.signal)) continue;
          msg.nak();
          throw error;
        }
        await retryOrDeadLetter(msg, error, { maxDeliver: options.maxDeliver, deadLetter, logger });
        throw error;
      }
    }
  };

  /** One message in a consumer span that continues the publisher's trace (from the headers). */
  const process = async (msg: JsMsg): Promise<void> => {
    held.add(msg);
    const started = performance.now();
    const { span, parent } = startConsumerSpan(msg, options.durable);
    try {
      // Anything the handler publishes becomes a child of this span; its logs carry the trace_id.
      await context.with(trace.setSpan(parent, span), () => handleOne(msg));
    } catch (error) {
      markFailed(span, error);
    } finally {
      held.delete(msg);
      span.end();
      platformMetrics.handleDuration.observe({ consumer: options.durable }, (performance.now() - started) / 1_000);
    }
  };

  const loop = (async () => {
    for await (const msg of messages) {
      held.add(msg);
      while (inFlight.size >= options.concurrency) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
      }
      if (stopping.signal.aborted) {
        // Delivered or waiting for a slot while stopping: straight back, not after the ack wait.
        held.delete(msg);
        msg.nak();
        continue;
      }
      const p: Promise<void> = process(msg).finally(() => {
        inFlight.delete(p);
        slotFreed?.();
      });
      inFlight.add(p);
    }
  })();

  return {
    stop: async () => {
      untrackLag();
      stopping.abort();
      await messages.close().catch(() => undefined);
      await loop.catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      keepAlive.stop();
      // Acks are not confirmed one by one; a flush (a round trip after them) makes sure the server
      // has every ack of this consumer before stop() resolves.
      await connectionOf(options.js)
        ?.flush()
        .catch(() => undefined);
    },
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  return delay(ms, true, { signal }).catch(() => false);
}

/**
 * The messages a consumer still holds (queued, in a handler, in a retry): `working()` on each, well
 * inside the consumer's ack wait, so they are never redelivered while we have them. `stop()` ends it.
 */
export async function keepHeldAlive(consumer: Consumer): Promise<{ readonly held: Set<JsMsg>; stop(): void }> {
  // The server's redelivery timeout (nanoseconds in the config); 30 s, the server's default, if unknown.
  const ackWaitMs = ((await consumer.info(true)).config.ack_wait ?? 30_000_000_000) / 1_000_000;
  const held = new Set<JsMsg>();
  const timer = setInterval(
    () => {
      for (const msg of held) msg.working();
    },
    Math.max(250, Math.floor(ackWaitMs / 3)),
  );
  timer.unref();
  return { held, stop: () => clearInterval(timer) };
}

/**
 * Settles a message whose handler failed for a reason that is not transient: a
 * {@link PoisonMessageError}, or a failure on the last of `maxDeliver` deliveries, goes to the dead
 * letters; anything else is redelivered after `delayMs` (default: backoff on the delivery count).
 */
export async function retryOrDeadLetter(
  msg: JsMsg,
  error: unknown,
  options: {
    maxDeliver: number;
    deadLetter: (msg: JsMsg, reason: string) => Promise<void>;
    logger: Logger;
    delayMs?: number | undefined;
  },
): Promise<void> {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const attempt = msg.info.deliveryCount;
  if (error instanceof PoisonMessageError || attempt >= options.maxDeliver) return options.deadLetter(msg, reason);
  const wait = options.delayMs ?? backoffDelay(attempt, 500, 30_000);
  options.logger.warn({ subject: msg.subject, seq: msg.seq, attempt, delay: wait, reason }, 'handler failed; retrying');
  msg.nak(wait);
}

/** {@link deadLetterMessage}, or when the copy cannot be published, a redelivery a second later. */
export function deadLetterOrRedeliver(
  to: { js: JetStreamClient; subject: string; durable: string; logger: Logger },
  msg: JsMsg,
  reason: string,
): Promise<void> {
  return deadLetterMessage(to, msg, reason).catch((error: unknown) => {
    to.logger.error({ err: String(error), seq: msg.seq }, 'dead-letter publish failed; will redeliver');
    msg.nak(1_000);
  });
}

/**
 * Copies a message to the dead-letter subject (payload kept, original subject, sequence, consumer and
 * reason in headers, the current trace) and terminates it. Throws when the copy cannot be published.
 */
export async function deadLetterMessage(
  to: { js: JetStreamClient; subject: string; durable: string; logger: Logger },
  msg: JsMsg,
  reason: string,
): Promise<void> {
  const h = natsHeaders();
  h.set('Dlr-Original-Subject', msg.subject);
  h.set('Dlr-Original-Stream-Seq', String(msg.seq));
  h.set('Dlr-Consumer', to.durable);
  h.set('Dlr-Reason', reason.slice(0, 500));
  // The dead-lettered copy keeps the trace of the message it failed in.
  injectNatsHeaders(h);
  await to.js.publish(to.subject, msg.data, { headers: h, msgID: `dlq:${to.durable}:${msg.seq}` });
  msg.term(reason.slice(0, 200));
  platformMetrics.deadLettered.inc({ consumer: to.durable, subject: subjectLabel(msg.subject) });
  to.logger.error({ subject: msg.subject, seq: msg.seq, consumer: to.durable, reason }, 'message dead-lettered');
}

/** The connection under a JetStream client (nats.js keeps it as `nc`; absent in other implementations). */
export function connectionOf(js: JetStreamClient): { flush(): Promise<void> } | undefined {
  const nc = (js as unknown as { nc?: { flush?: unknown } }).nc;
  return nc && typeof nc.flush === 'function' ? (nc as { flush(): Promise<void> }) : undefined;
}
