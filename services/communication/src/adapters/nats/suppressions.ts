import { consumerNames, suppressionReason, type DeliveryEvent } from '@dlr/contracts';
import { consumeDeliveryEvents, type ConsumerHandle, type Logger, type NatsHandle } from '@dlr/platform';
import type { CommunicationStore } from '../../domain/ports.js';
import type { MongoSuppressions } from '../mongo/suppressions.js';

/**
 * Keeps communication's own suppression replica (what the delivery preview consults): opt-outs from
 * feedback-link, and provider unsubscribes, complaints and permanent bounces add the address of the
 * event's delivery record, looked up in this service's own deliveries. Lifts are removed by the
 * LiftSuppression use case itself. Idempotent; logs IDs only.
 */
export async function startSuppressionConsumers(options: {
  nats: NatsHandle;
  namespace: string;
  store: Pick<CommunicationStore, 'getDeliveries'>;
  suppressions: MongoSuppressions;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { nats, namespace, store, suppressions, logger } = options;
  const onEvent = async (event: DeliveryEvent) => {
    const reason = suppressionReason(event);
    if (reason === undefined) return;
    const [delivery] = await store.getDeliveries([event.deliveryId]);
    if (!delivery) {
      logger.debug(
        { deliveryId: event.deliveryId, eventId: event.eventId },
        'suppression event for an unknown delivery',
      );
      return;
    }
    const suppressed = await suppressions.suppress(delivery, {
      reason,
      eventId: event.eventId,
      suppressedAt: event.receivedAt ?? event.occurredAt ?? new Date(),
    });
    logger.debug(
      { deliveryId: delivery._id, communicationId: delivery.communicationId, reason, suppressed },
      'suppression event',
    );
  };
  const consume = (durable: string) => consumeDeliveryEvents({ nats, namespace, durable, handle: onEvent, logger });
  const feedback = await consume(consumerNames.communicationSuppressionsFeedback);
  const provider = await consume(consumerNames.communicationSuppressionsProvider).catch(async (error: unknown) => {
    await feedback.stop();
    throw error;
  });
  const handles = [feedback, provider];
  return { stop: async () => void (await Promise.all(handles.map((h) => h.stop()))) };
}
