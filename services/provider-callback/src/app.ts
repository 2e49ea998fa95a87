import { consumerNames } from '@dlr/contracts';
import {
  ConfigError,
  consumeErasures,
  createHttpServer,
  deliveryEventPublisher,
  startConsumers,
  startRetentionSweeps,
  type BaseConfig,
  type BuiltApp,
  type ConsumerHandle,
  type MongoHandle,
  type ServiceDeps,
} from '@dlr/platform';
import { callbackRoutes, type ProviderWebhook } from './adapters/http/callback-route.js';
import { CertificateCache, fetchSnsHttp, type SnsHttp } from './adapters/http/sns-client.js';
import {
  mailgunWebhook,
  sendgridWebhook,
  sesWebhook,
  simulatorWebhook,
  twilioWebhook,
} from './adapters/http/webhooks.js';
import {
  callbackRetentionRules,
  migrateRawCallbacks,
  mongoParkedStore,
  mongoProviderMessageStore,
  mongoRawCallbackStore,
  type CallbackRetention,
} from './adapters/mongo/raw-callbacks.js';
import { eraseRawCallbacks } from './adapters/mongo/erasure.js';
import { startDispatchEvents } from './adapters/nats/dispatch-events.js';
import { natsMailgunTokens } from './adapters/nats/mailgun-tokens.js';
import { rawCallbackLog, startRawCallbackConsumer, type CallbackParser } from './adapters/nats/raw-callbacks.js';
import { configShape, type CallbackConfig } from './config.js';
import type { IngestPorts, Reparse } from './domain/ingest.js';
import { MAILGUN, reparseMailgun, type MailgunTokenLedger } from './domain/mailgun.js';
import { CallbackCounters } from './domain/metrics.js';
import { reparseSendgrid, SENDGRID, sendgridPublicKey } from './domain/sendgrid.js';
import { reparseSes, SES } from './domain/ses.js';
import { reparseSimulator, SIMULATOR } from './domain/simulator.js';
import { reparseTwilio, TWILIO } from './domain/twilio.js';

/** Largest simulator callback body accepted; larger ones are answered 413 before anything is read into memory. */
export const CALLBACK_BODY_LIMIT = 64 * 1024;

/** Creates what provider-callback needs in MongoDB (retention from `config`, else the defaults); idempotent. */
export async function migrate(
  mongo: MongoHandle,
  config: Partial<Pick<CallbackConfig, 'RAW_CALLBACK_RETENTION_SECONDS' | 'PARKED_CALLBACK_RETENTION_SECONDS'>> = {},
): Promise<void> {
  await migrateRawCallbacks(mongo, retentionOf(config));
}

function retentionOf(
  config: Partial<Pick<CallbackConfig, 'RAW_CALLBACK_RETENTION_SECONDS' | 'PARKED_CALLBACK_RETENTION_SECONDS'>>,
): CallbackRetention {
  return {
    rawSeconds: config.RAW_CALLBACK_RETENTION_SECONDS ?? configShape.RAW_CALLBACK_RETENTION_SECONDS.parse(undefined),
    parkedSeconds:
      config.PARKED_CALLBACK_RETENTION_SECONDS ?? configShape.PARKED_CALLBACK_RETENTION_SECONDS.parse(undefined),
  };
}

/** Replaceable parts, for tests: how SNS is reached over HTTPS, and the clock. */
export interface AppOverrides {
  readonly snsHttp?: SnsHttp;
  readonly now?: () => Date;
}

const REPARSE: Readonly<Record<string, Reparse>> = {
  [SIMULATOR]: reparseSimulator,
  [SES]: reparseSes,
  [SENDGRID]: reparseSendgrid,
  [MAILGUN]: reparseMailgun,
  [TWILIO]: reparseTwilio,
};

/**
 * Builds the webhook server (not listening): `POST /v1/callbacks/<provider>` for each configured
 * provider (simulator, ses, sendgrid, mailgun, twilio; others answer 404), which commits verified
 * callbacks to JetStream, and `/healthz` (`/readyz` and `/metrics` are on the admin port); and the
 * consumers (started by `start`) of those committed callbacks (archive, normalize, publish or park)
 * and of dispatch's events (release parked callbacks). Throws a ConfigError when Twilio lacks its public URL.
 */
export async function buildApp(
  deps: ServiceDeps<CallbackConfig & BaseConfig>,
  overrides: AppOverrides = {},
): Promise<BuiltApp> {
  const { config, logger, mongo, nats } = deps;
  const retention = retentionOf(config);
  if (retention.parkedSeconds > 0 && retention.parkedSeconds <= config.PARKED_EXPIRY_SECONDS)
    throw new ConfigError(['PARKED_CALLBACK_RETENTION_SECONDS: must be 0 or more than PARKED_EXPIRY_SECONDS']);
  // A token verifies while its timestamp is within ± the tolerance: remember it that long on both sides.
  const mailgunTokens = config.MAILGUN_WEBHOOK_SIGNING_KEY
    ? await natsMailgunTokens(nats, config.NATS_NAMESPACE, 2 * config.CALLBACK_TOLERANCE_SECONDS)
    : undefined;
  const webhooks = providerWebhooks(config, overrides.snsHttp ?? fetchSnsHttp(), mailgunTokens);
  const counters = new CallbackCounters(webhooks.map((w) => w.provider));
  const ports: IngestPorts = {
    store: mongoRawCallbackStore(mongo),
    parked: mongoParkedStore(mongo),
    messages: mongoProviderMessageStore(mongo),
    publisher: deliveryEventPublisher(nats, config.NATS_NAMESPACE, 'provider'),
    counters,
    reparse: (provider) => {
      const reparse = REPARSE[provider];
      // An erased callback's body is a marker: nothing to read back.
      return reparse && ((raw) => (raw.erased === true ? undefined : reparse(raw)));
    },
    ...(overrides.now ? { now: overrides.now } : {}),
  };
  const http = await createHttpServer({
    logger,
    bodyLimit: config.CALLBACK_BODY_LIMIT_BYTES,
  });
  await http.register(callbackRoutes, {
    webhooks,
    log: rawCallbackLog(nats, config.NATS_NAMESPACE),
    counters,
    ...(overrides.now ? { now: overrides.now } : {}),
  });
  logger.info({ providers: webhooks.map((w) => w.provider) }, 'provider webhooks configured');
  const parsers = new Map<string, CallbackParser>(webhooks.map((w) => [w.provider, w.parse]));
  let consumer: ConsumerHandle | undefined;
  let stopSweeps: (() => Promise<void>) | undefined;
  return {
    http,
    start: async () => {
      if (config.CALLBACK_ROLE === 'webhooks') {
        logger.info('webhooks only (CALLBACK_ROLE=webhooks): the consumers and retention sweeps run on other replicas');
        return;
      }
      stopSweeps = startRetentionSweeps({
        db: mongo.db,
        rules: callbackRetentionRules(retention),
        everyMs: config.RETENTION_SWEEP_SECONDS * 1_000,
        logger,
      });
      consumer = await startConsumers([
        () =>
          startDispatchEvents({
            nats,
            namespace: config.NATS_NAMESPACE,
            ports,
            logger,
            retryMs: config.PARKED_RETRY_SECONDS * 1_000,
            expiryMs: config.PARKED_EXPIRY_SECONDS * 1_000,
            providers: webhooks.map((w) => w.provider),
          }),
        () => startRawCallbackConsumer({ nats, namespace: config.NATS_NAMESPACE, ports, parsers, logger }),
        () =>
          consumeErasures({
            nats,
            namespace: config.NATS_NAMESPACE,
            durable: consumerNames.callbackErasure,
            apply: (event) => eraseRawCallbacks(mongo, event),
            logger,
          }),
      ]);
    },
    stopConsuming: async () => {
      await stopSweeps?.();
      await consumer?.stop();
      consumer = undefined;
    },
  };
}

function providerWebhooks(
  config: CallbackConfig,
  snsHttp: SnsHttp,
  mailgunTokens: MailgunTokenLedger | undefined,
): ProviderWebhook[] {
  const bodyLimit = config.CALLBACK_BODY_LIMIT_BYTES;
  const toleranceSeconds = config.CALLBACK_TOLERANCE_SECONDS;
  const webhooks: ProviderWebhook[] = [];
  if (config.SIMULATOR_WEBHOOK_SECRET)
    webhooks.push(
      simulatorWebhook({
        secret: config.SIMULATOR_WEBHOOK_SECRET,
        toleranceSeconds,
        bodyLimit: Math.min(bodyLimit, CALLBACK_BODY_LIMIT),
      }),
    );
  if (config.SES_SNS_TOPIC_ARNS)
    webhooks.push(
      sesWebhook({
        topicArns: new Set(config.SES_SNS_TOPIC_ARNS),
        replayWindowSeconds: config.SES_SNS_REPLAY_WINDOW_SECONDS,
        certificates: new CertificateCache(snsHttp),
        http: snsHttp,
        bodyLimit,
      }),
    );
  if (config.SENDGRID_WEBHOOK_PUBLIC_KEY)
    webhooks.push(
      sendgridWebhook({
        publicKey: sendgridPublicKey(config.SENDGRID_WEBHOOK_PUBLIC_KEY),
        toleranceSeconds,
        bodyLimit,
      }),
    );
  if (config.MAILGUN_WEBHOOK_SIGNING_KEY && mailgunTokens)
    webhooks.push(
      mailgunWebhook({
        signingKey: config.MAILGUN_WEBHOOK_SIGNING_KEY,
        toleranceSeconds,
        tokens: mailgunTokens,
        bodyLimit,
      }),
    );
  if (config.TWILIO_AUTH_TOKEN) {
    if (!config.CALLBACK_PUBLIC_BASE_URL)
      throw new ConfigError(['CALLBACK_PUBLIC_BASE_URL: is required when TWILIO_AUTH_TOKEN is set']);
    webhooks.push(
      twilioWebhook({ authToken: config.TWILIO_AUTH_TOKEN, publicBaseUrl: config.CALLBACK_PUBLIC_BASE_URL, bodyLimit }),
    );
  }
  return webhooks;
}
