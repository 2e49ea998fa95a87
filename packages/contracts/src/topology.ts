import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
} from '@nats-io/jetstream';

const NS_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
const SECOND_NS = 1_000_000_000;

/** Where an observation about a delivery comes from; the last token of its subject. */
export type DeliveryEventSource = 'dispatch' | 'provider' | 'feedback';

/**
 * Every NATS subject of the system, versioned (`.v1.`) and prefixed by a namespace so that several
 * environments (or test runs) can share one NATS server. These are public contracts: see docs.
 */
export function subjects(namespace = 'dlr') {
  assertNamespace(namespace);
  return {
    /** `RecipientsAdded` (dlr.communication.v1): delivery records that now exist, Pending. */
    recipientsAdded: `${namespace}.v1.communication.recipients-added`,
    /** `SendRequested` (dlr.communication.v1): one delivery attempt to send. */
    sendRequested: `${namespace}.v1.dispatch.send-requested`,
    /** `DeliveryEvent` (dlr.delivery.v1) observed by one source. */
    deliveryEvent: (source: DeliveryEventSource) => `${namespace}.v1.delivery.event.${source}`,
    /** Every `DeliveryEvent`, whatever its source. */
    deliveryEvents: `${namespace}.v1.delivery.event.>`,
    /** Messages a consumer gave up on, with the original in the payload and its subject in headers. */
    deadLetter: (consumer: string) => `${namespace}.v1.dead-letter.${consumer}`,
  } as const;
}

/** Names of the streams, upper-cased namespace first (stream names cannot contain dots). */
export function streamNames(namespace = 'dlr') {
  assertNamespace(namespace);
  const prefix = namespace.toUpperCase().replaceAll('-', '_');
  return {
    communication: `${prefix}_COMMUNICATION`,
    dispatch: `${prefix}_DISPATCH`,
    delivery: `${prefix}_DELIVERY`,
    deadLetter: `${prefix}_DEAD_LETTER`,
  } as const;
}

/** Durable consumer names; replicas of a service share one durable. */
export const consumerNames = {
  reportingRecipients: 'reporting-recipients',
  reportingEvents: 'reporting-events',
  dispatchSend: 'dispatch-send',
} as const;

/** How many times a message is delivered before it is dead-lettered. */
export const MAX_DELIVER = 20;

/** Stream configurations: file storage, limits retention, a 10-minute duplicate window. */
export function streamConfigs(namespace = 'dlr'): (Partial<StreamConfig> & { name: string; subjects: string[] })[] {
  const s = subjects(namespace);
  const n = streamNames(namespace);
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: 600 * SECOND_NS,
    max_age: 30 * 24 * 3600 * SECOND_NS,
    num_replicas: 1,
  };
  return [
    { ...common, name: n.communication, subjects: [`${namespace}.v1.communication.>`] },
    { ...common, name: n.dispatch, subjects: [`${namespace}.v1.dispatch.>`] },
    { ...common, name: n.delivery, subjects: [s.deliveryEvents] },
    { ...common, name: n.deadLetter, subjects: [`${namespace}.v1.dead-letter.>`], max_age: 90 * 24 * 3600 * SECOND_NS },
  ];
}

/** Durable pull consumers and the stream each reads; explicit acks, redelivery after `ack_wait`. */
export function consumerConfigs(
  namespace = 'dlr',
): { stream: string; config: Partial<ConsumerConfig> & { durable_name: string } }[] {
  const s = subjects(namespace);
  const n = streamNames(namespace);
  const common = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30 * SECOND_NS,
    // Dead-lettering is done by the consumer loop at MAX_DELIVER so the payload is kept.
    max_deliver: -1,
    max_ack_pending: 1_000,
  };
  return [
    {
      stream: n.communication,
      config: { ...common, durable_name: consumerNames.reportingRecipients, filter_subject: s.recipientsAdded },
    },
    {
      stream: n.delivery,
      config: { ...common, durable_name: consumerNames.reportingEvents, filter_subject: s.deliveryEvents },
    },
    {
      stream: n.dispatch,
      config: {
        ...common,
        durable_name: consumerNames.dispatchSend,
        filter_subject: s.sendRequested,
        ack_wait: 60 * SECOND_NS,
      },
    },
  ];
}

function assertNamespace(namespace: string): void {
  if (!NS_PATTERN.test(namespace))
    throw new Error(`invalid NATS namespace "${namespace}": lower-case letters, digits, dashes`);
}
