import { consumerConfigs, streamConfigs } from '@dlr/contracts';
import {
  createHttpServer,
  deliveryEventPublisher,
  type BaseConfig,
  type BuiltApp,
  type MongoHandle,
  type ServiceDeps,
} from '@dlr/platform';
import { linkRoutes, sendPage } from './adapters/http/link-routes.js';
import { migrateFeedback, mongoFeedbackStore } from './adapters/mongo/feedback-store.js';
import type { FeedbackConfig } from './config.js';
import { errorPage } from './domain/pages.js';

/** Streams and consumers this service relies on (the whole system topology; idempotent). */
export function topology(namespace: string) {
  return { streams: streamConfigs(namespace), consumers: consumerConfigs(namespace) };
}

/** Creates what feedback-link needs in MongoDB; idempotent. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await migrateFeedback(mongo);
}

/**
 * Builds the recipient pages (not listening): `GET|HEAD|POST /a/<token>`, an HTML 404 for any
 * other address, `/healthz`, and `/readyz` (MongoDB + NATS).
 */
export async function buildApp(deps: ServiceDeps<FeedbackConfig & BaseConfig>): Promise<BuiltApp> {
  const { config, logger, mongo, nats } = deps;
  const http = createHttpServer({
    logger,
    bodyLimit: 16 * 1024,
    readiness: [
      { name: 'mongodb', check: () => mongo.ping() },
      { name: 'nats', check: () => nats.ping() },
    ],
  });
  await http.register(linkRoutes, {
    keys: config.LINK_SIGNING_KEYS,
    store: mongoFeedbackStore(mongo),
    publisher: deliveryEventPublisher(nats, config.NATS_NAMESPACE, 'feedback'),
  });
  http.setNotFoundHandler((_request, reply) => sendPage(reply, errorPage(404)));
  return { http };
}
