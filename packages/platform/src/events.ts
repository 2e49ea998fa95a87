import { DeliveryEvent, subjects, type DeliveryEventSource } from '@dlr/contracts';
import { UnavailableError } from './errors.js';
import { publishDurable, type NatsHandle } from './nats.js';

/** Publishes one source's `DeliveryEvent`s. */
export interface DeliveryEventPublisher {
  /** Resolves once JetStream stored the event (`event_id` as Nats-Msg-Id); throws UnavailableError otherwise. */
  publish(event: DeliveryEvent): Promise<void>;
}

/** A {@link DeliveryEventPublisher} on `<namespace>.v1.delivery.event.<source>`. */
export function deliveryEventPublisher(
  nats: NatsHandle,
  namespace: string,
  source: DeliveryEventSource,
): DeliveryEventPublisher {
  const subject = subjects(namespace).deliveryEvent(source);
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
