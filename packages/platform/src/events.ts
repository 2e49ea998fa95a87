import {
  decodePersonErased,
  DeliveryEvent,
  MAX_DELIVER,
  streamNames,
  subjects,
  SUPPRESSION_REPLICA_CONCURRENCY,
  suppressionFact,
  type DeliveryEventSource,
  type PersonErased,
  type SuppressionFact,
} from '@dlr/contracts';
import { UnavailableError } from './errors.js';
import type { Logger } from './logger.js';
import { publishDurable, runConsumer, type ConsumerHandle, type MessageContext, type NatsHandle } from './nats.js';

/** Publishes one source's `DeliveryEvent`s. */
export interface DeliveryEventPublisher {
  /** Resolves once JetStream stored the event (`event_id` as Nats-Msg-Id); throws UnavailableError otherwise. */
  publish(event: DeliveryEvent): Promise<void>;
}

/** A {@link DeliveryEventPublisher} on `<namespace>.v1.delivery.event.<source>.<partition>.<address effect>`. */
export function deliveryEventPublisher(
  nats: NatsHandle,
  namespace: string,
  source: DeliveryEventSource,
): DeliveryEventPublisher {
  const s = subjects(namespace);
  return {
    publish: async (event) => {
      try {
        const subject = s.deliveryEvent(source, event);
        await publishDurable(nats.js, subject, DeliveryEvent.encode(event).finish(), event.eventId);
      } catch (error) {
        throw new UnavailableError('could not publish the event; retry later', error);
      }
    },
  };
}

/**
 * Runs one durable consumer of the delivery stream (its filter is in the topology): decodes each
 * `DeliveryEvent`, dead-letters to `<ns>.v1.dead-letter.<durable>` after MAX_DELIVER attempts.
 */
export function consumeDeliveryEvents(options: {
  nats: NatsHandle;
  namespace: string;
  durable: string;
  handle: (event: DeliveryEvent, ctx: MessageContext) => Promise<void>;
  logger: Logger;
  concurrency?: number;
}): Promise<ConsumerHandle> {
  return runConsumer({
    js: options.nats.js,
    stream: streamNames(options.namespace).delivery,
    durable: options.durable,
    decode: (data) => DeliveryEvent.decode(data),
    handle: options.handle,
    deadLetterSubject: subjects(options.namespace).deadLetter(options.durable),
    maxDeliver: MAX_DELIVER,
    concurrency: options.concurrency ?? 4,
    logger: options.logger,
  });
}

/**
 * Starters of a suppression replica's consumers of the delivery stream, one per durable: each
 * suppressing event (see `suppressionFact`) reaches `suppress`; any other event is acked untouched.
 */
export function suppressingEventConsumers(options: {
  nats: NatsHandle;
  namespace: string;
  durables: readonly string[];
  suppress: (event: DeliveryEvent, fact: SuppressionFact) => Promise<void>;
  logger: Logger;
}): (() => Promise<ConsumerHandle>)[] {
  const { nats, namespace, logger } = options;
  const handle = async (event: DeliveryEvent) => {
    const fact = suppressionFact(event);
    if (fact !== undefined) await options.suppress(event, fact);
  };
  return options.durables.map(
    (durable) => () =>
      consumeDeliveryEvents({ nats, namespace, durable, handle, logger, concurrency: SUPPRESSION_REPLICA_CONCURRENCY }),
  );
}

/**
 * Runs one service's durable consumer of `PersonErased` (communication stream): `apply` erases that
 * service's own copies and returns how many documents it changed (0 on a repeat). An invalid event is
 * dead-lettered at once; store outages are retried in place (see runConsumer).
 */
export function consumeErasures(options: {
  nats: NatsHandle;
  namespace: string;
  durable: string;
  apply: (event: PersonErased) => Promise<number>;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { logger } = options;
  return runConsumer({
    js: options.nats.js,
    stream: streamNames(options.namespace).communication,
    durable: options.durable,
    decode: decodePersonErased,
    handle: async (event) => {
      const changed = await options.apply(event);
      logger.info({ erasureId: event.erasureId, changed }, 'erasure applied');
    },
    deadLetterSubject: subjects(options.namespace).deadLetter(options.durable),
    maxDeliver: MAX_DELIVER,
    concurrency: 1,
    logger,
  });
}
