import { consumerConfigs, streamConfigs } from '@dlr/contracts';
import {
  createHttpServer,
  deliveryEventPublisher,
  type BuiltApp,
  type MongoHandle,
  type ServiceDeps,
  type BaseConfig,
} from '@dlr/platform';
import { migrateRawCallbacks, mongoRawCallbackStore } from './adapters/mongo/raw-callbacks.js';
import { simulatorRoutes } from './adapters/http/simulator-route.js';
import type { CallbackConfig } from './config.js';
import { CallbackCounters } from './domain/metrics.js';
import { SIMULATOR } from './domain/simulator.js';

/** Largest callback body accepted; larger ones are answered 413 before anything is read into memory. */
export const CALLBACK_BODY_LIMIT = 64 * 1024;

/** Streams and consumers this service relies on (the whole system topology; idempotent). */
export function topology(namespace: string) {
  return { streams: streamConfigs(namespace), consumers: consumerConfigs(namespace) };
}

/** Creates what provider-callback needs in MongoDB; idempotent. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await migrateRawCallbacks(mongo);
}

/**
 * Builds the webhook server (not listening): `POST /v1/callbacks/simulator`, `GET /metrics`,
 * `/healthz`, and `/readyz` (MongoDB + NATS).
 */
export async function buildApp(deps: ServiceDeps<CallbackConfig & BaseConfig>): Promise<BuiltApp> {
  const { config, logger, mongo, nats } = deps;
  const counters = new CallbackCounters([SIMULATOR]);
  const http = createHttpServer({
    logger,
    bodyLimit: CALLBACK_BODY_LIMIT,
    readiness: [
      { name: 'mongodb', check: () => mongo.ping() },
      { name: 'nats', check: () => nats.ping() },
    ],
  });
  await http.register(simulatorRoutes, {
    secret: config.SIMULATOR_WEBHOOK_SECRET,
    toleranceSeconds: config.CALLBACK_TOLERANCE_SECONDS,
    store: mongoRawCallbackStore(mongo),
    publisher: deliveryEventPublisher(nats, config.NATS_NAMESPACE, 'provider'),
    counters,
  });
  http.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(counters.render()),
  );
  return { http };
}
