// The two projections: RecipientsAdded → Pending records, DeliveryEvent → ranked records + timeline.
import { consumerNames, MAX_DELIVER, streamNames, subjects } from '@dlr/contracts';
import { runConsumer, type ConsumerHandle, type Logger, type NatsHandle } from '@dlr/platform';
import type { AddedDelivery, DeliveryEventIn } from '../../domain/model.js';
import type { KeyedLock } from '../../keyed-lock.js';
import type { RecordsRepository } from '../mongo/records.js';
import { decodeDeliveryEvent, decodeRecipientsAdded } from './decode.js';

/** Handlers of the two projections, usable without NATS (the consumers below call them). */
export class Projector {
  readonly #repo: RecordsRepository;
  readonly #lock: KeyedLock;
  readonly #logger: Logger;
  readonly #now: () => Date;

  constructor(options: { repo: RecordsRepository; lock: KeyedLock; logger: Logger; now?: () => Date }) {
    this.#repo = options.repo;
    this.#lock = options.lock;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
  }

  /** Makes each delivery exist (Pending if new) with its recipient fields; never changes a status. */
  async recipientsAdded(message: { communicationId: string; deliveries: readonly AddedDelivery[] }): Promise<void> {
    const ids = message.deliveries.map((d) => d.deliveryId);
    await this.#lock.run(ids, () =>
      this.#repo.upsertRecipients(message.communicationId, message.deliveries, this.#now()),
    );
    this.#logger.debug({ communicationId: message.communicationId, deliveries: ids.length }, 'recipients projected');
  }

  /**
   * Applies an event to its record, then adds it to the timeline. In this order so that a crash
   * in between is healed by the redelivery: the update is idempotent, and the insert is deduped
   * by event ID.
   */
  async deliveryEvent(event: DeliveryEventIn): Promise<void> {
    await this.#lock.run([event.deliveryId], async () => {
      const changed = await this.#repo.applyEvent(event, this.#now());
      const recorded = await this.#repo.recordEvent(event);
      this.#logger.debug(
        { deliveryId: event.deliveryId, eventId: event.eventId, status: event.status, changed, recorded },
        'event projected',
      );
    });
  }
}

/** Starts both durable consumers; resolves with a handle that stops them. */
export async function startConsumers(options: {
  nats: NatsHandle;
  namespace: string;
  projector: Projector;
  concurrency: number;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { nats, namespace, projector, concurrency, logger } = options;
  const streams = streamNames(namespace);
  const s = subjects(namespace);
  const recipients = await runConsumer({
    js: nats.js,
    stream: streams.communication,
    durable: consumerNames.reportingRecipients,
    decode: (data) => decodeRecipientsAdded(data),
    handle: (message) => projector.recipientsAdded(message),
    deadLetterSubject: s.deadLetter(consumerNames.reportingRecipients),
    maxDeliver: MAX_DELIVER,
    concurrency,
    logger: logger.child({ consumer: consumerNames.reportingRecipients }),
  });
  const events = await runConsumer({
    js: nats.js,
    stream: streams.delivery,
    durable: consumerNames.reportingEvents,
    decode: (data) => decodeDeliveryEvent(data),
    handle: (event) => projector.deliveryEvent(event),
    deadLetterSubject: s.deadLetter(consumerNames.reportingEvents),
    maxDeliver: MAX_DELIVER,
    concurrency,
    logger: logger.child({ consumer: consumerNames.reportingEvents }),
  }).catch(async (error: unknown) => {
    await recipients.stop();
    throw error;
  });
  const handles = [recipients, events];
  return { stop: async () => void (await Promise.all(handles.map((h) => h.stop()))) };
}
