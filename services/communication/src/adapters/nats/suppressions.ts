import { consumerNames, type SuppressionFact } from '@dlr/contracts';
import {
  groupCommit,
  startConsumers,
  suppressingEventConsumers,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import type { CommunicationStore } from '../../domain/ports.js';
import type { MongoSuppressions } from '../mongo/suppressions.js';

/** What one suppressing event asks for. */
interface Suppressing {
  deliveryId: string;
  fact: SuppressionFact;
}

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
  // The events handled at once share one read of their deliveries and one bulk of upserts.
  // Outcome per event: true (suppressed), false (no address), undefined (unknown delivery).
  const suppress = groupCommit<Suppressing, boolean | undefined>({
    run: async (items) => {
      const deliveries = new Map(
        (await store.getDeliveries([...new Set(items.map((i) => i.deliveryId))])).map((d) => [d._id, d]),
      );
      const known = items.flatMap((item, i) => {
        const delivery = deliveries.get(item.deliveryId);
        return delivery ? [{ i, delivery, fact: item.fact }] : [];
      });
      const done = await suppressions.suppressDeliveries(known);
      const outcomes: (boolean | undefined | Error)[] = items.map(() => undefined);
      known.forEach(({ i }, k) => (outcomes[i] = done[k]));
      return outcomes;
    },
  });
  return startConsumers(
    suppressingEventConsumers({
      nats,
      namespace,
      durables: [consumerNames.communicationSuppressionsFeedback, consumerNames.communicationSuppressionsProvider],
      suppress: async (event, fact) => {
        const suppressed = await suppress({ deliveryId: event.deliveryId, fact });
        logger.debug(
          { deliveryId: event.deliveryId, eventId: event.eventId, reason: fact.reason, suppressed },
          suppressed === undefined ? 'suppression event for an unknown delivery' : 'suppression event',
        );
      },
      logger,
    }),
  );
}
