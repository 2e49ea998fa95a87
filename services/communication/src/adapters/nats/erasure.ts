import { consumerNames, PersonErased, subjects } from '@dlr/contracts';
import {
  consumeErasures,
  publishDurable,
  UnavailableError,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import type { ErasureEvents } from '../../domain/erasure.js';
import type { MongoErasure } from '../mongo/erasure.js';

/** {@link ErasureEvents} on JetStream (`<ns>.v1.communication.person-erased`). */
export class NatsErasureEvents implements ErasureEvents {
  constructor(
    private readonly nats: NatsHandle,
    private readonly namespace: string,
  ) {}

  async personErased(event: PersonErased): Promise<void> {
    try {
      await publishDurable(
        this.nats.js,
        subjects(this.namespace).personErased,
        PersonErased.encode(event).finish(),
        `person-erased:${event.erasureId}`,
      );
    } catch (error) {
      throw new UnavailableError('the erasure is audited but could not be published; retry', error);
    }
  }
}

/** Communication's own consumer of `PersonErased`: erases its deliveries and communication texts. */
export function startErasureConsumer(options: {
  nats: NatsHandle;
  namespace: string;
  erasure: MongoErasure;
  logger: Logger;
}): Promise<ConsumerHandle> {
  return consumeErasures({
    nats: options.nats,
    namespace: options.namespace,
    durable: consumerNames.communicationErasure,
    apply: (event) => options.erasure.apply(event),
    logger: options.logger,
  });
}
