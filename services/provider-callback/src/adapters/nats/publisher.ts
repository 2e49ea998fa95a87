import { DeliveryEvent, subjects } from '@dlr/contracts';
import { publishDurable, UnavailableError, type NatsHandle } from '@dlr/platform';
import type { EventPublisher } from '../../domain/ingest.js';

/**
 * {@link EventPublisher} on JetStream: publishes on the provider delivery-event subject with the
 * event ID as Nats-Msg-Id, resolving after the PubAck. Throws {@link UnavailableError} otherwise.
 */
export function jetStreamPublisher(nats: NatsHandle, namespace: string): EventPublisher {
  const subject = subjects(namespace).deliveryEvent('provider');
  return {
    publish: async (event) => {
      try {
        await publishDurable(nats.js, subject, DeliveryEvent.encode(event).finish(), event.eventId);
      } catch (error) {
        throw new UnavailableError('could not publish the event; retry later', error);
      }
    },
  };
}
