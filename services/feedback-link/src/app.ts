import {
  createHttpServer,
  startConsumers,
  type BaseConfig,
  type BuiltApp,
  type ConsumerHandle,
  type MongoHandle,
  type ServiceDeps,
} from '@dlr/platform';
import { linkRoutes, sendPage } from './adapters/http/link-routes.js';
import { linkDirectory } from './adapters/mongo/directory.js';
import { migrateFeedback, mongoFeedbackStore } from './adapters/mongo/feedback-store.js';
import { answerLog, startAnswerConsumer } from './adapters/nats/answers.js';
import { startLinkConsumers } from './adapters/nats/link-consumers.js';
import type { FeedbackConfig } from './config.js';
import { errorPage } from './domain/pages.js';

/** Creates what feedback-link needs in MongoDB; idempotent. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await migrateFeedback(mongo);
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
  return {
    http,
    start: async () => {
      consumers = await startConsumers([
        () => startLinkConsumers({ nats, namespace: config.NATS_NAMESPACE, directory, logger }),
        () => startAnswerConsumer({ nats, namespace: config.NATS_NAMESPACE, store, logger }),
      ]);
    },
    stopConsuming: async () => {
      await consumers?.stop();
    },
  };
}
