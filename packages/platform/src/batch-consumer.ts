import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import type { Logger } from './logger.js';
import { platformMetrics, subjectLabel, trackConsumerLag } from './metrics.js';
import {
  connectionOf,
  deadLetterOrRedeliver,
  keepHeldAlive,
  messageContext,
  PoisonMessageError,
  retryOrDeadLetter,
  sleepUnlessAborted,
  startConsumerSpan,
  type ConsumerHandle,
  type MessageContext,
} from './nats.js';
import { backoffDelay } from './retry.js';
import { markFailed, tracer } from './tracing.js';
import { isTransient } from './transient.js';

/** What to do with one message of a batch. */
export type BatchOutcome =
  | { readonly kind: 'ack' }
  /**
   * Not now. A transient `error` ({@link isTransient}: store or NATS down) is retried in place, with
   * backoff, without counting toward dead-lettering; any other is redelivered after `delayMs`
   * (default: backoff on the delivery count) and dead-lettered after `maxDeliver` deliveries.
   */
  | { readonly kind: 'retry'; readonly error: unknown; readonly delayMs?: number }
  /** Can never be processed: copied to the dead-letter subject at once. */
  | { readonly kind: 'dead-letter'; readonly reason: string };

/** One decoded message of a batch. */
export interface BatchItem<T> {
  readonly message: T;
  readonly ctx: MessageContext;
  /**
   * Runs `work` in this message's consumer span (which continues its publisher's trace), so what the
   * handler does for this one message — a provider call, a publish — stays in the message's trace.
   */
  within<R>(work: () => Promise<R>): Promise<R>;
}

/** Options of {@link runBatchConsumer}. */
export interface BatchConsumerOptions<T> {
  js: JetStreamClient;
  stream: string;
  durable: string;
  /** Throws (e.g. {@link PoisonMessageError}) for a payload that can never be decoded: dead-lettered. */
  decode: (data: Uint8Array) => T;
  /**
   * Handles a batch; resolves with one outcome per item, in order. A throw is a `retry` of the
   * whole batch with that error.
   */
  handleBatch: (items: readonly BatchItem<T>[]) => Promise<readonly BatchOutcome[]>;
  deadLetterSubject: string;
  maxDeliver: number;
  /** Most messages handed to one `handleBatch` call. */
  batchSize: number;
  /** Batches handled at once (default 1); more overlap one batch's store writes with another's calls. */
  batchesInFlight?: number;
  /** How long a batch waits for more messages once it has one (default 20 ms). */
  lingerMs?: number;
  logger: Logger;
}

const MAX_TRANSIENT_DELAY_MS = 10_000;

/**
 * Consumes a durable JetStream consumer a batch at a time, with explicit acks: messages are
 * gathered into batches of up to `batchSize`, each handed to `handleBatch`, and each message settled
 * by its outcome. Messages held (queued or in a batch) are kept alive with `working()`, so a long
 * batch or an outage retried in place is never redelivered meanwhile.
 */
export async function runBatchConsumer<T>(options: BatchConsumerOptions<T>): Promise<ConsumerHandle> {
  const { logger, durable } = options;
  const consumer = await options.js.consumers.get(options.stream, durable);
  const inFlightBatches = options.batchesInFlight ?? 1;
  const capacity = options.batchSize * (inFlightBatches + 1);
  const messages = await consumer.consume({ max_messages: capacity });
  const untrackLag = trackConsumerLag({ stream: options.stream, consumer: durable, info: () => consumer.info(false) });
  const stopping = new AbortController();
  const keepAlive = await keepHeldAlive(consumer);
  const held = keepAlive.held;
  const queue: JsMsg[] = [];
  // The reader and the workers wait for the queue to change.
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const wake of waiters) wake();
    waiters.clear();
  };
  const waitForChange = () => new Promise<void>((resolve) => waiters.add(resolve));
  /** Waits `ms`, or less if we stop meanwhile. */
  const sleep = (ms: number) => sleepUnlessAborted(ms, stopping.signal);

  const deadLetter = (msg: JsMsg, reason: string) =>
    deadLetterOrRedeliver({ js: options.js, subject: options.deadLetterSubject, durable, logger }, msg, reason);

  const reader = (async () => {
    for await (const msg of messages) {
      held.add(msg);
      queue.push(msg);
      notify();
      // The consumer pulls more only as messages are taken from it: this bounds what we hold.
      while (queue.length >= capacity && !stopping.signal.aborted) await waitForChange();
    }
  })();

  /** Settles one batch, retrying in place its transient outcomes until they pass or we stop. */
  const handle = async (batch: JsMsg[]): Promise<void> => {
    const started = performance.now();
    const spans = new Map<JsMsg, Span>();
    let pending: { msg: JsMsg; item: BatchItem<T> }[] = [];
    for (const msg of batch) {
      const { span, parent } = startConsumerSpan(msg, durable);
      spans.set(msg, span);
      const traced = trace.setSpan(parent, span);
      try {
        const item: BatchItem<T> = {
          message: options.decode(msg.data),
          ctx: messageContext(msg),
          within: (work) => context.with(traced, work),
        };
        pending.push({ msg, item });
      } catch (error) {
        markFailed(span, error);
        await deadLetter(msg, `undecodable payload: ${String(error)}`);
      }
    }
    const done = (msg: JsMsg) => {
      spans.get(msg)?.end();
      held.delete(msg);
    };
    const decoded = new Set(pending.map((p) => p.msg));
    for (const msg of batch) if (!decoded.has(msg)) done(msg);
    for (let round = 1; pending.length > 0; round++) {
      // One span for the batch, linked to each message's consumer span (each continues its publisher's trace).
      const batchSpan = tracer.startSpan(`process batch ${subjectLabel(pending[0]!.msg.subject)}`, {
        kind: SpanKind.CONSUMER,
        attributes: { 'messaging.system': 'nats', 'messaging.batch.message_count': pending.length },
        links: pending.map(({ msg }) => ({ context: spans.get(msg)!.spanContext() })),
      });
      let outcomes: readonly BatchOutcome[];
      try {
        outcomes = await context.with(trace.setSpan(context.active(), batchSpan), () =>
          options.handleBatch(pending.map((p) => p.item)),
        );
      } catch (error) {
        markFailed(batchSpan, error);
        outcomes = pending.map(() => ({ kind: 'retry', error }));
      } finally {
        batchSpan.end();
      }
      const again: typeof pending = [];
      await Promise.all(
        pending.map(async (p, i) => {
          const { msg } = p;
          const outcome: BatchOutcome = outcomes[i] ?? { kind: 'retry', error: new Error('no outcome for message') };
          const label = { consumer: durable, subject: subjectLabel(msg.subject) };
          if (outcome.kind === 'ack') {
            msg.ack();
            platformMetrics.eventsConsumed.inc(label);
            return done(msg);
          }
          platformMetrics.handlerErrors.inc(label);
          const span = spans.get(msg)!;
          if (outcome.kind === 'dead-letter') {
            markFailed(span, new PoisonMessageError(outcome.reason));
            await deadLetter(msg, outcome.reason);
            return done(msg);
          }
          const { error } = outcome;
          const transient = isTransient(error);
          if (transient && !stopping.signal.aborted) return void again.push(p);
          markFailed(span, error);
          if (transient) msg.nak();
          else
            await retryOrDeadLetter(msg, error, {
              maxDeliver: options.maxDeliver,
              deadLetter,
              logger,
              delayMs: outcome.delayMs,
            });
          done(msg);
        }),
      );
      pending = again;
      if (pending.length === 0) break;
      const pause = backoffDelay(round, 250, MAX_TRANSIENT_DELAY_MS);
      logger.warn(
        { consumer: durable, messages: pending.length, round, delay: pause },
        'dependency unavailable; retrying in place',
      );
      await sleep(pause);
      if (stopping.signal.aborted) {
        // Another replica (or our restart) takes them at once.
        for (const { msg } of pending) {
          msg.nak();
          done(msg);
        }
        break;
      }
    }
    platformMetrics.handleDuration.observe({ consumer: durable }, (performance.now() - started) / 1_000);
  };

  const worker = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      if (queue.length === 0) {
        await waitForChange();
        continue;
      }
      if (queue.length < options.batchSize) await sleep(options.lingerMs ?? 20);
      const batch = queue.splice(0, options.batchSize);
      notify();
      if (batch.length > 0) await handle(batch);
    }
  };
  const workers = Array.from({ length: inFlightBatches }, worker);

  return {
    stop: async () => {
      untrackLag();
      stopping.abort();
      notify();
      await messages.close().catch(() => undefined);
      await reader.catch(() => undefined);
      notify();
      await Promise.allSettled(workers);
      // Queued but never handed to a batch: redelivered at once, elsewhere or after a restart.
      for (const msg of queue.splice(0)) {
        msg.nak();
        held.delete(msg);
      }
      keepAlive.stop();
      await connectionOf(options.js)
        ?.flush()
        .catch(() => undefined);
    },
  };
}
