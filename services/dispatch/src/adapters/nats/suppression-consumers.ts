import {
  consumerNames,
  MAX_DELIVER,
  streamNames,
  subjects,
  SUPPRESSION_REPLICA_CONCURRENCY,
  SuppressionLifted,
  suppressionReason,
  type DeliveryEvent,
  type SuppressionFact,
} from '@dlr/contracts';
import {
  consumeDeliveryEvents,
  groupCommit,
  runConsumer,
  startConsumers,
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
  const onEvent = async (event: DeliveryEvent) => {
    const reason = suppressionReason(event);
    if (reason === undefined) return;
    const done = await suppress({
      deliveryId: event.deliveryId,
      fact: {
        reason,
        eventId: event.eventId,
        communicationId: event.communicationId,
        suppressedAt: event.receivedAt ?? new Date(),
      },
    });
    // Info only when an address is newly suppressed; a repeat (or a record dispatch never sent) is debug.
    logger[done ? 'info' : 'debug']({ deliveryId: event.deliveryId, reason, suppressed: done }, 'suppression event');
  };
  const fromEvents = (durable: string) =>
    consumeDeliveryEvents({
      nats,
      namespace,
      durable,
      handle: onEvent,
      logger,
      concurrency: SUPPRESSION_REPLICA_CONCURRENCY,
    });
  return startConsumers([
    () => fromEvents(consumerNames.dispatchSuppressionsFeedback),
    () => fromEvents(consumerNames.dispatchSuppressionsProvider),
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
