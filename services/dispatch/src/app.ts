import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import {
  consumerConfigs,
  consumerNames,
  kvBucketNames,
  MAX_DELIVER,
  SendRequested,
  streamNames,
  subjects,
} from '@dlr/contracts';
import {
  consumeErasures,
  deliveryEventPublisher,
  backoffDelay,
  createHttpServer,
  runBatchConsumer,
  type BatchOutcome,
  type BuiltApp,
  type ConsumerHandle,
  type ServiceConfig,
  type ServiceDeps,
} from '@dlr/platform';
import { MongoAttemptStore } from './adapters/mongo/attempts.js';
import { MongoSuppressions } from './adapters/mongo/suppressions.js';
import { KvCancellations } from './adapters/nats/cancellations.js';
import { natsLinkIssuer } from './adapters/nats/link-issuer.js';
import { startSuppressionConsumers } from './adapters/nats/suppression-consumers.js';
import { eraseAttempts } from './adapters/mongo/erasure.js';
import { InstrumentedProvider } from './adapters/providers/instrumented.js';
import { SharedTokenBucket } from './adapters/providers/rate-limit.js';
import { selectProviders } from './adapters/providers/select.js';
import type { configShape } from './config.js';
import { Dispatcher, DispatchStoppedError, type RetryPolicy, type SendOutcome } from './domain/dispatcher.js';

export { migrate } from './adapters/mongo/attempts.js';

/** The validated configuration of dispatch. */
export type Config = ServiceConfig<typeof configShape>;

const MAX_RETRY_DELAY_MS = 8_000;

/** The dispatch consumer's ack wait, in ms: a handler must finish well within it. */
function dispatchAckWaitMs(namespace: string): number {
  const consumer = consumerConfigs(namespace).find((c) => c.config.durable_name === consumerNames.dispatchSend);
  const ns = consumer?.config.ack_wait ?? 30_000_000_000;
  return Math.floor(ns / 1_000_000);
}

/** Wires dispatch: the send-request consumer, the provider, the attempts store; HTTP only for health. */
export async function buildApp(deps: ServiceDeps<Config>): Promise<BuiltApp> {
  const { config, logger, mongo, nats } = deps;
  const ns = config.NATS_NAMESPACE;
  const ackWaitMs = dispatchAckWaitMs(ns);
  // Stop starting provider calls at 3/4 of the ack wait, so JetStream never redelivers a message
  // whose handler is still sending; a `sending` attempt older than that plus a margin is abandoned.
  const retry: RetryPolicy = {
    maxRetries: config.PROVIDER_MAX_RETRIES,
    callTimeoutMs: config.PROVIDER_TIMEOUT_MS,
    delayMs: (n) => backoffDelay(n, config.PROVIDER_RETRY_BASE_MS, MAX_RETRY_DELAY_MS),
    budgetMs: Math.floor(ackWaitMs * 0.75),
    staleAfterMs: Math.floor(ackWaitMs * 0.75) + 5_000,
  };
  const stopping = new AbortController();
  // Each provider's rate is the deployment's: one token bucket per provider in JetStream KV.
  const rates = await new Kvm(nats.js).create(kvBucketNames(ns).providerRates, { history: 1 });
  const selected = selectProviders(
    config,
    (provider, ratePerSecond) => new SharedTokenBucket({ kv: rates, key: provider, ratePerSecond }),
  );
  const suppressions = new MongoSuppressions(mongo);
  const cancellations = await KvCancellations.open(nats, ns, logger);
  const dispatcher = new Dispatcher({
    attempts: new MongoAttemptStore(mongo),
    events: deliveryEventPublisher(nats, ns, 'dispatch'),
    providers: {
      email: new InstrumentedProvider(selected.providers.email),
      sms: new InstrumentedProvider(selected.providers.sms),
    },
    links: natsLinkIssuer({
      nats,
      namespace: ns,
      keys: config.LINK_SIGNING_KEYS,
      baseUrl: config.FEEDBACK_BASE_URL,
      shortBaseUrl: config.SHORT_LINK_BASE_URL ?? config.FEEDBACK_BASE_URL,
      ttlDays: config.LINK_TTL_DAYS,
      optOutTtlDays: config.LINK_OPTOUT_TTL_DAYS,
      ...(config.LIST_UNSUBSCRIBE_MAILTO ? { unsubscribeMailto: config.LIST_UNSUBSCRIBE_MAILTO } : {}),
    }),
    suppressions,
    cancellations,
    retry,
    providerConcurrency: config.DISPATCH_CONCURRENCY,
    logger,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }),
    signal: stopping.signal,
  });
  const http = await createHttpServer({ logger });
  let consumer: ConsumerHandle | undefined;
  let suppressionConsumers: ConsumerHandle | undefined;
  let erasureConsumer: ConsumerHandle | undefined;
  return {
    http,
    start: async () => {
      // The replica is kept current before any send request is taken.
      suppressionConsumers = await startSuppressionConsumers({ nats, namespace: ns, suppressions, logger });
      erasureConsumer = await consumeErasures({
        nats,
        namespace: ns,
        durable: consumerNames.dispatchErasure,
        apply: (event) => eraseAttempts(mongo, event),
        logger,
      });
      consumer = await runBatchConsumer({
        js: nats.js,
        stream: streamNames(ns).dispatch,
        durable: consumerNames.dispatchSend,
        decode: (data) => SendRequested.decode(data),
        handleBatch: async (items) =>
          (
            await dispatcher.handleBatch(
              items.map((i) => i.message),
              (index, work) => items[index]!.within(work),
            )
          ).map(toBatchOutcome),
        deadLetterSubject: subjects(ns).deadLetter('dispatch'),
        maxDeliver: MAX_DELIVER,
        batchSize: config.DISPATCH_BATCH_SIZE,
        batchesInFlight: config.DISPATCH_BATCHES_IN_FLIGHT,
        logger,
      });
      logger.info(
        {
          concurrency: config.DISPATCH_CONCURRENCY,
          batchSize: config.DISPATCH_BATCH_SIZE,
          batchesInFlight: config.DISPATCH_BATCHES_IN_FLIGHT,
          emailProvider: selected.providers.email.name,
          smsProvider: selected.providers.sms.name,
        },
        'consuming send requests',
      );
    },
    stopConsuming: async () => {
      stopping.abort();
      await consumer?.stop();
      await suppressionConsumers?.stop();
      await erasureConsumer?.stop();
      cancellations.stop();
      selected.close();
    },
  };
}

/** The consumer's handling of a dispatcher outcome: stopping hands the message on at once. */
function toBatchOutcome(outcome: SendOutcome): BatchOutcome {
  switch (outcome.kind) {
    case 'done':
      return { kind: 'ack' };
    case 'invalid':
      return { kind: 'dead-letter', reason: `${outcome.error.name}: ${outcome.error.message}` };
    case 'retry':
      return outcome.error instanceof DispatchStoppedError
        ? { kind: 'retry', error: outcome.error, delayMs: 0 }
        : { kind: 'retry', error: outcome.error };
  }
}
