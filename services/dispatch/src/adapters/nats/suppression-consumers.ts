import {
  consumerNames,
  MAX_DELIVER,
  streamNames,
  subjects,
  SuppressionLifted,
  type SuppressionFact,
} from '@dlr/contracts';
import {
  groupCommit,
  runConsumer,
  startConsumers,
  suppressingEventConsumers,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import type { MongoSuppressions } from '../mongo/suppressions.js';

/**
 * Keeps dispatch's suppression replica: opt-outs (feedback-link, provider unsubscribes), complaints
 * and permanent bounces add the record's address; `SuppressionLifted` removes one. Idempotent.
 */
export async function startSuppressionConsumers(options: {
  nats: NatsHandle;
  namespace: string;
  suppressions: MongoSuppressions;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { nats, namespace, suppressions, logger } = options;
  const s = subjects(namespace);
  const n = streamNames(namespace);
  // The events handled at once share one read of their records' addresses and one bulk of upserts.
  const suppress = groupCommit<{ deliveryId: string; fact: SuppressionFact }, boolean>({
    run: (items) => suppressions.suppressDeliveries(items),
  });
  return startConsumers([
    ...suppressingEventConsumers({
      nats,
      namespace,
      durables: [consumerNames.dispatchSuppressionsFeedback, consumerNames.dispatchSuppressionsProvider],
      suppress: async (event, fact) => {
        const done = await suppress({ deliveryId: event.deliveryId, fact });
        // Info only when an address is newly suppressed; a repeat (or a record dispatch never sent) is debug.
        logger[done ? 'info' : 'debug'](
          { deliveryId: event.deliveryId, reason: fact.reason, suppressed: done },
          'suppression event',
        );
      },
      logger,
    }),
    () =>
      runConsumer({
        js: nats.js,
        stream: n.communication,
        durable: consumerNames.dispatchSuppressionLifts,
        decode: (data) => SuppressionLifted.decode(data),
        handle: async (lifted) => {
          const removed = await suppressions.lift(lifted.addressKey);
          logger.info({ liftId: lifted.liftId, removed }, 'suppression lifted');
        },
        deadLetterSubject: s.deadLetter(consumerNames.dispatchSuppressionLifts),
        maxDeliver: MAX_DELIVER,
        concurrency: 1,
        logger,
      }),
  ]);
}
