import { consumerNames } from '@dlr/contracts';
import { consumeDeliveryEvents, type ConsumerHandle, type Logger, type NatsHandle } from '@dlr/platform';
import { onDispatchEvent, retryParked, type IngestPorts } from '../../domain/ingest.js';

/**
 * Consumes dispatch's DeliveryEvents (durable `provider-callback-dispatch-events`): each Sent
 * event with a provider message ID is remembered and releases the callbacks parked for it. Also
 * retries the oldest parked callbacks every `retryMs` (a safety net). Resolves once consuming.
 */
export async function startDispatchEvents(options: {
  nats: NatsHandle;
  namespace: string;
  ports: IngestPorts;
  logger: Logger;
  retryMs: number;
  concurrency?: number;
}): Promise<ConsumerHandle> {
  const { ports, logger } = options;
  const durable = consumerNames.callbackDispatchEvents;
  const consumer = await consumeDeliveryEvents({
    nats: options.nats,
    namespace: options.namespace,
    durable,
    handle: async (event) => {
      const released = await onDispatchEvent(ports, event);
      if (released > 0) logger.info({ deliveryId: event.deliveryId, released }, 'parked callbacks released');
    },
    concurrency: options.concurrency ?? 4,
    logger: logger.child({ consumer: durable }),
  });
  let sweeping: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sweeping = retryParked(ports, 500).then(
      (released) => void (released > 0 && logger.info({ released }, 'parked callbacks released on retry')),
      (error: unknown) => logger.warn({ err: String(error) }, 'retrying parked callbacks failed'),
    );
  }, options.retryMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await consumer.stop();
      await sweeping;
    },
  };
}
