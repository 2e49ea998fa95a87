import { consumerNames, LinkContent, MAX_DELIVER, ShortLinkIssued, streamNames, subjects } from '@dlr/contracts';
import { runConsumer, type ConsumerHandle, type Logger, type NatsHandle } from '@dlr/platform';
import type { LinkDirectory } from '../mongo/directory.js';

/**
 * Consumes dispatch's `ShortLinkIssued` and `LinkContent` into feedback-link's own collections
 * (idempotent upserts by `_id`). Resolves with a handle that stops both.
 */
export async function startLinkConsumers(options: {
  nats: NatsHandle;
  namespace: string;
  directory: LinkDirectory;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { nats, namespace, directory, logger } = options;
  const stream = streamNames(namespace).dispatch;
  const deadLetter = subjects(namespace).deadLetter;
  const shortLinks = await runConsumer({
    js: nats.js,
    stream,
    durable: consumerNames.feedbackShortLinks,
    decode: (data) => ShortLinkIssued.decode(data),
    handle: async (message) => {
      await directory.putShortLink(message);
      logger.debug({ deliveryId: message.deliveryId }, 'short link stored');
    },
    deadLetterSubject: deadLetter(consumerNames.feedbackShortLinks),
    maxDeliver: MAX_DELIVER,
    concurrency: 4,
    logger,
  });
  const content = await runConsumer({
    js: nats.js,
    stream,
    durable: consumerNames.feedbackLinkContent,
    decode: (data) => LinkContent.decode(data),
    handle: async (message) => {
      await directory.putContent(message);
      logger.debug({ communicationId: message.communicationId }, 'link content stored');
    },
    deadLetterSubject: deadLetter(consumerNames.feedbackLinkContent),
    maxDeliver: MAX_DELIVER,
    concurrency: 2,
    logger,
  });
  return {
    stop: async () => {
      await Promise.all([shortLinks.stop(), content.stop()]);
    },
  };
}
