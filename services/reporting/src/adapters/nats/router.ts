// First stage of the projection: routes recipients into reporting's partitioned work queue, so that
// each delivery record has exactly one writer (the owner of its partition). Delivery events need no
// router: their subject names their partition and the work stream sources them from the delivery
// stream itself (see `streamConfigs`). Any replica may route; the only store routing touches is the
// titles copy (by `_id`, newest wins). Each output carries a stable `Nats-Msg-Id`, so a redelivered
// input is routed again without duplicates.
import {
  consumerNames,
  MAX_DELIVER,
  partitionOf,
  PersonErased,
  RecipientsAdded,
  scrubNames,
  RecipientsRemoved,
  streamNames,
  subjects,
} from '@dlr/contracts';
import {
  consumeErasures,
  publishDurable,
  runConsumer,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import type { TitleStore } from '../../domain/reads.js';
import { decodeRecipientsAdded, decodeRecipientsRemoved } from './decode.js';

/** Starts the routing consumer of recipients; resolves with a handle that stops it. */
export async function startRouter(options: {
  nats: NatsHandle;
  namespace: string;
  concurrency: number;
  /** Where the communication's title is kept (the reports show it). */
  titles?: TitleStore;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { nats, namespace, concurrency, titles, logger } = options;
  const streams = streamNames(namespace);
  const s = subjects(namespace);

  return runConsumer({
    js: nats.js,
    stream: streams.communication,
    durable: consumerNames.reportingRecipients,
    decode: (data) => {
      decodeRecipientsAdded(data); // validates; the proto below keeps every field as received
      return RecipientsAdded.decode(data);
    },
    handle: async (message, ctx) => {
      if (titles && message.title !== '')
        await titles.set(message.communicationId, message.title.slice(0, 500), message.occurredAt ?? new Date(0));
      await Promise.all(
        [...byPartition(message.deliveries, (d) => d.deliveryId)].map(([p, deliveries]) =>
          publishDurable(
            nats.js,
            s.reportingWork(p, 'recipients'),
            RecipientsAdded.encode({ ...message, deliveries }).finish(),
            `recipients:${ctx.streamSequence}:${p}`,
          ),
        ),
      );
    },
    deadLetterSubject: s.deadLetter(consumerNames.reportingRecipients),
    maxDeliver: MAX_DELIVER,
    concurrency,
    logger: logger.child({ consumer: consumerNames.reportingRecipients }),
  });
}

/** Items grouped by the reporting partition of their delivery ID. */
function byPartition<T>(items: readonly T[], deliveryIdOf: (item: T) => string): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const p = partitionOf(deliveryIdOf(item));
    const list = groups.get(p);
    if (list === undefined) groups.set(p, [item]);
    else list.push(item);
  }
  return groups;
}

/**
 * Starts reporting's consumer of `PersonErased`: it routes the erasure to the partitions of its
 * delivery records (each partition's owner erases its own records, in order with their other work).
 */
export function startErasureRouter(options: {
  nats: NatsHandle;
  namespace: string;
  logger: Logger;
  /** Reporting's copy of titles: the erased person's name is scrubbed from them here. */
  titles: TitleStore;
}): Promise<ConsumerHandle> {
  const { nats, namespace, logger, titles } = options;
  const s = subjects(namespace);
  return consumeErasures({
    nats,
    namespace,
    durable: consumerNames.reportingErasure,
    apply: async (event) => {
      const names = new Set(event.nameHashes);
      if (names.size > 0)
        await titles.scrub(
          event.communicationIds,
          (title) => scrubNames(title, event.salt, names),
          event.erasedAt ?? new Date(),
        );
      await Promise.all(
        [...byPartition(event.deliveryIds, (id) => id)].map(([p, deliveryIds]) =>
          publishDurable(
            nats.js,
            s.reportingWork(p, 'erase'),
            PersonErased.encode({
              ...event,
              deliveryIds,
              communicationIds: [],
              addressHashes: [],
              nameHashes: [],
            }).finish(),
            `erase:${event.erasureId}:${p}`,
          ),
        ),
      );
      return event.deliveryIds.length;
    },
    logger: logger.child({ consumer: consumerNames.reportingErasure }),
  });
}

/**
 * Starts the routing consumer of `RecipientsRemoved` (removed recipients, dropped channels, deleted
 * drafts): each partition's owner drops its own records, in order with their other work.
 */
export function startRemovalRouter(options: {
  nats: NatsHandle;
  namespace: string;
  concurrency: number;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const { nats, namespace, concurrency, logger } = options;
  const s = subjects(namespace);
  return runConsumer({
    js: nats.js,
    stream: streamNames(namespace).communication,
    durable: consumerNames.reportingRemovals,
    decode: (data) => {
      decodeRecipientsRemoved(data); // validates; the proto below keeps every field as received
      return RecipientsRemoved.decode(data);
    },
    handle: async (message, ctx) => {
      await Promise.all(
        [...byPartition(message.deliveryIds, (id) => id)].map(([p, deliveryIds]) =>
          publishDurable(
            nats.js,
            s.reportingWork(p, 'remove'),
            RecipientsRemoved.encode({ ...message, deliveryIds }).finish(),
            `removed:${ctx.streamSequence}:${p}`,
          ),
        ),
      );
    },
    deadLetterSubject: s.deadLetter(consumerNames.reportingRemovals),
    maxDeliver: MAX_DELIVER,
    concurrency,
    logger: logger.child({ consumer: consumerNames.reportingRemovals }),
  });
}
