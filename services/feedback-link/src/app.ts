import { consumerNames } from '@dlr/contracts';
import {
  consumeErasures,
  createHttpServer,
  startConsumers,
  startRetentionSweeps,
  type BaseConfig,
  type BuiltApp,
  type ConsumerHandle,
  type MongoHandle,
  type ServiceDeps,
} from '@dlr/platform';
import { linkRoutes, sendPage } from './adapters/http/link-routes.js';
import { linkDirectory } from './adapters/mongo/directory.js';
import { eraseFeedback } from './adapters/mongo/erasure.js';
import { linkContentRetention, migrateFeedback, mongoFeedbackStore } from './adapters/mongo/feedback-store.js';
import { answerLog, startAnswerConsumer } from './adapters/nats/answers.js';
import { startLinkConsumers } from './adapters/nats/link-consumers.js';
import { configShape, type FeedbackConfig } from './config.js';
import { errorPage } from './domain/pages.js';

/** Creates what feedback-link needs in MongoDB (retention from `config`, else the default); idempotent. */
export async function migrate(
  mongo: MongoHandle,
  config: Partial<Pick<FeedbackConfig, 'LINK_CONTENT_RETENTION_SECONDS'>> = {},
): Promise<void> {
  await migrateFeedback(mongo, contentRetention(config));
}

function contentRetention(config: Partial<Pick<FeedbackConfig, 'LINK_CONTENT_RETENTION_SECONDS'>>): number {
  return config.LINK_CONTENT_RETENTION_SECONDS ?? configShape.LINK_CONTENT_RETENTION_SECONDS.parse(undefined);
}

/**
 * Builds the recipient pages (not listening): `/a/<token>`, `/s/<code>`, `/u/<token>`, `/o/<token>`,
 * an HTML 404 for any other address, and `/healthz`, which commit answers to JetStream before they
 * confirm them; and the consumers that copy dispatch's short links and page content, and the
 * committed answers, into feedback-link's own collections.
 */
export async function buildApp(deps: ServiceDeps<FeedbackConfig & BaseConfig>): Promise<BuiltApp> {
  const { config, logger, mongo, nats } = deps;
  const directory = linkDirectory(mongo, nats, config.NATS_NAMESPACE);
  const http = await createHttpServer({
    logger,
    bodyLimit: 16 * 1024,
  });
  const store = mongoFeedbackStore(mongo);
  await http.register(linkRoutes, {
    keys: config.LINK_SIGNING_KEYS,
    store,
    log: answerLog(nats, config.NATS_NAMESPACE),
    directory,
    bots: { scannerUserAgents: config.LINK_SCANNER_USER_AGENTS, windowSeconds: config.LINK_BOT_WINDOW_SECONDS },
  });
  http.setNotFoundHandler((_request, reply) => sendPage(reply, errorPage(404)));
  let consumers: ConsumerHandle | undefined;
  let stopSweeps: (() => Promise<void>) | undefined;
  return {
    http,
    start: async () => {
      stopSweeps = startRetentionSweeps({
        db: mongo.db,
        rules: [linkContentRetention(contentRetention(config))],
        everyMs: config.RETENTION_SWEEP_SECONDS * 1_000,
        logger,
      });
      consumers = await startConsumers([
        () => startLinkConsumers({ nats, namespace: config.NATS_NAMESPACE, directory, logger }),
        () => startAnswerConsumer({ nats, namespace: config.NATS_NAMESPACE, store, logger }),
        () =>
          consumeErasures({
            nats,
            namespace: config.NATS_NAMESPACE,
            durable: consumerNames.feedbackErasure,
            apply: (event) => eraseFeedback(mongo, event),
            logger,
          }),
      ]);
    },
    stopConsuming: async () => {
      await stopSweeps?.();
      await consumers?.stop();
    },
  };
}
