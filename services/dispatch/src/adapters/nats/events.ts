import { DeliveryEvent, subjects } from '@dlr/contracts';
import { publishDurable, type NatsHandle } from '@dlr/platform';
import type { DeliveryEventPublisher } from '../../domain/ports.js';

/** Publishes dispatch's events on `<ns>.v1.delivery.event.dispatch`, `event_id` as Nats-Msg-Id. */
export class NatsDeliveryEvents implements DeliveryEventPublisher {
  private readonly subject: string;

  constructor(
    private readonly nats: NatsHandle,
    namespace: string,
  ) {
    this.subject = subjects(namespace).deliveryEvent('dispatch');
  }

  async publish(event: DeliveryEvent): Promise<void> {
    await publishDurable(this.nats.js, this.subject, DeliveryEvent.encode(event).finish(), event.eventId);
  }
}
