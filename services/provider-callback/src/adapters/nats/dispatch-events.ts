import { consumerNames } from '@dlr/contracts';
import { consumeDeliveryEvents, defineGauge, type ConsumerHandle, type Logger, type NatsHandle } from '@dlr/platform';
import { expireParked, onDispatchEvent, retryParked, type IngestPorts } from '../../domain/ingest.js';

/** Parked callbacks, as counted in the store by the last sweep (the same value from every pod). */
const parkedGauge = defineGauge(
  'dlr_callbacks_parked',
  'Callbacks parked until dispatch reports their provider message, counted in the store by the periodic sweep.',
  ['provider'],
);

/**
 * Consumes dispatch's DeliveryEvents (durable `provider-callback-dispatch-events`): each Sent
 * event with a provider message ID is remembered and releases the callbacks parked for it. Also
 * retries the oldest parked callbacks every `retryMs` (a safety net), expires those parked longer
 * than `expiryMs`, and sets the gauge of parked callbacks from the store. Resolves once consuming.
 */
export async function startDispatchEvents(options: {
  nats: NatsHandle;
  namespace: string;
  ports: IngestPorts;
  logger: Logger;
  retryMs: number;
  expiryMs: number;
  /** Providers whose gauge series exist from the start (at 0). */
  providers?: readonly string[];
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
    // Many at once: the stores group the lookups of events handled together into one read or write.
    concurrency: options.concurrency ?? 64,
    logger: logger.child({ consumer: durable }),
  });
  for (const provider of options.providers ?? []) parkedGauge.set({ provider }, 0);
  const sweep = async () => {
    const released = await retryParked(ports, 500);
    if (released > 0) logger.info({ released }, 'parked callbacks released on retry');
    const now = ports.now?.() ?? new Date();
    const expired = await expireParked(ports, new Date(now.getTime() - options.expiryMs), 500);
    if (expired > 0) logger.warn({ expired }, 'parked callbacks expired: dispatch never reported their message');
    const counts = await ports.parked.countByProvider();
    for (const provider of new Set([...(options.providers ?? []), ...counts.keys()]))
      parkedGauge.set({ provider }, counts.get(provider) ?? 0);
  };
  let sweeping: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sweeping = sweep().catch((error: unknown) =>
      logger.warn({ err: String(error) }, 'sweeping parked callbacks failed'),
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
