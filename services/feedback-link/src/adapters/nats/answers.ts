// Recipients' answers are committed to JetStream first (the page confirms only after the PubAck);
// feedback-link's own `feedback` collection is a projection of that stream, fed by a consumer.
import { consumerNames, DeliveryEvent, streamNames, subjects } from '@dlr/contracts';
import {
  consumeDeliveryEvents,
  perTurn,
  publishDurable,
  UnavailableError,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import { answerFromEvent, type AnswerLog, type FeedbackStore } from '../../domain/feedback.js';

/** Carries the coarse browser class of an answer to the store (it is not part of the public event). */
const USER_AGENT_CLASS_HEADER = 'Dlr-User-Agent-Class';
/** How long an answer waits for the PubAck before the recipient is told it was not recorded. */
const COMMIT_TIMEOUT_MS = 5_000;

/** An {@link AnswerLog} on `<ns>.v1.delivery.event.feedback.…` (Nats-Msg-Id = the event ID). */
export function answerLog(nats: NatsHandle, namespace: string): AnswerLog {
  const s = subjects(namespace);
  const stream = streamNames(namespace).delivery;
  // Answers posted in the same event-loop turn share one socket write.
  const together = perTurn();
  return {
    commit: async (event, userAgentClass) => {
      const data = DeliveryEvent.encode(event).finish();
      const headers = { [USER_AGENT_CLASS_HEADER]: userAgentClass };
      try {
        const ack = await together(() =>
          publishDurable(nats.js, s.deliveryEvent('feedback', event), data, event.eventId, headers, {
            timeoutMs: COMMIT_TIMEOUT_MS,
          }),
        );
        if (!ack.duplicate) return { event, duplicate: false };
        // A repeat: the stream keeps the first answer, at the sequence the PubAck names.
        const first = await nats.jsm.streams.getMessage(stream, { seq: ack.seq });
        return { event: first ? DeliveryEvent.decode(first.data) : event, duplicate: true };
      } catch (error) {
        throw new UnavailableError('could not commit the answer; it was not recorded', error);
      }
    },
  };
}

/**
 * Feeds the `feedback` collection from the committed answers (durable `feedback-answers`):
 * once-only answers keep the first, every response is kept. Idempotent.
 */
export function startAnswerConsumer(options: {
  nats: NatsHandle;
  namespace: string;
  store: FeedbackStore;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { store, logger } = options;
  const durable = consumerNames.feedbackAnswers;
  return consumeDeliveryEvents({
    nats: options.nats,
    namespace: options.namespace,
    durable,
    handle: async (event, ctx) => {
      const record = answerFromEvent(event, ctx.header(USER_AGENT_CLASS_HEADER));
      if (record === undefined) {
        logger.warn({ eventId: event.eventId }, 'feedback event that is no answer of ours; skipped');
        return;
      }
      if (record.action === 'respond') await store.recordResponse(record);
      else await store.recordOnce(record);
      logger.debug({ deliveryId: record.deliveryId, action: record.action }, 'answer stored');
    },
    concurrency: 8,
    logger: logger.child({ consumer: durable }),
  });
}
