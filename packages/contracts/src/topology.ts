import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { DeliveryEvent } from './gen/dlr/delivery/v1/delivery.pb.js';
import { suppressionReason, type SuppressionReason } from './suppression.js';

const NS_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
const SECOND_NS = 1_000_000_000;

/** Where an observation about a delivery comes from; the first token after `delivery.event`. */
export type DeliveryEventSource = 'dispatch' | 'provider' | 'feedback';

/** What an event does to its recipient's address: a {@link SuppressionReason}, or `none`. */
export type AddressEffect = SuppressionReason | 'none';

const SUPPRESSION_REASONS: readonly SuppressionReason[] = ['opted_out', 'complaint', 'permanent_bounce'];

/**
 * Every NATS subject of the system, versioned (`.v1.`) and prefixed by a namespace so that several
 * environments (or test runs) can share one NATS server. These are public contracts: see docs.
 */
export function subjects(namespace = 'dlr') {
  assertNamespace(namespace);
  return {
    /** `RecipientsAdded` (dlr.communication.v1): delivery records that now exist, Pending. */
    recipientsAdded: `${namespace}.v1.communication.recipients-added`,
    /** `RecipientsRemoved` (dlr.communication.v1): delivery records of a draft that no longer exist. */
    recipientsRemoved: `${namespace}.v1.communication.recipients-removed`,
    /** `SendRequested` (dlr.communication.v1): one delivery attempt to send. */
    sendRequested: `${namespace}.v1.dispatch.send-requested`,
    /**
     * `DeliveryEvent` (dlr.delivery.v1) observed by one source:
     * `<ns>.v1.delivery.event.<source>.<partition>.<address effect>`. The partition is the reporting
     * partition of the delivery record ({@link partitionOf}), so the server routes the event into
     * reporting's work queue itself (see the work stream's `sources`); the address effect lets the
     * suppression replicas receive only the events that suppress an address.
     */
    deliveryEvent: (source: DeliveryEventSource, event: Pick<DeliveryEvent, 'deliveryId' | 'status' | 'reasonCode'>) =>
      `${namespace}.v1.delivery.event.${source}.${partitionOf(event.deliveryId)}.${addressEffect(event)}`,
    /** Every `DeliveryEvent` of one source. */
    deliveryEventsFrom: (source: DeliveryEventSource) => `${namespace}.v1.delivery.event.${source}.>`,
    /** The events of one source that suppress an address (one subject per suppression reason). */
    suppressingEventsFrom: (source: DeliveryEventSource) =>
      SUPPRESSION_REASONS.map((reason) => `${namespace}.v1.delivery.event.${source}.*.${reason}`),
    /** Every `DeliveryEvent`, whatever its source. */
    deliveryEvents: `${namespace}.v1.delivery.event.>`,
    /** Messages a consumer gave up on, with the original in the payload and its subject in headers. */
    deadLetter: (consumer: string) => `${namespace}.v1.dead-letter.${consumer}`,
    /** `ShortLinkIssued` (dlr.feedback.v1): an SMS short code and the signed token it stands for. */
    shortLinkIssued: (code: string) => `${namespace}.v1.dispatch.short-link.${code}`,
    /** Every `ShortLinkIssued`. */
    shortLinks: `${namespace}.v1.dispatch.short-link.*`,
    /** `LinkContent` (dlr.feedback.v1): what the recipient pages of a communication show. */
    linkContent: (communicationId: string) => `${namespace}.v1.dispatch.link-content.${communicationId}`,
    /** Every `LinkContent`. */
    linkContents: `${namespace}.v1.dispatch.link-content.*`,
    /** `SuppressionLifted` (dlr.feedback.v1): an operator removed an address from the suppression list. */
    suppressionLifted: `${namespace}.v1.communication.suppression-lifted`,
    /** `PersonErased` (dlr.communication.v1): an admin erased a person; every service erases its copies. */
    personErased: `${namespace}.v1.communication.person-erased`,
    /**
     * Reporting's internal work queue for one partition of delivery records (`RecipientsAdded` or
     * `DeliveryEvent` payloads; the last token says which). Not a public contract.
     */
    reportingWork: (partition: number, kind: 'recipients' | 'event' | 'erase' | 'remove') =>
      `${namespace}.v1.reporting.work.${partition}.${kind}`,
    /** Every work item of one partition. */
    reportingPartition: (partition: number) => `${namespace}.v1.reporting.work.${partition}.*`,
    /**
     * `StatusChanged` (dlr.reporting.v1): a delivery record changed the status or response it shows.
     * Public: subscribe per communication (`...status-changed.<id>.*`) or per status (`...*.<status>`).
     */
    statusChanged: (communicationId: string, status: string) =>
      `${namespace}.v1.reporting.status-changed.${communicationId}.${status}`,
    /** Every status change. */
    statusChanges: `${namespace}.v1.reporting.status-changed.>`,
    /**
     * `RawCallbackReceived` (dlr.callback.v1): a provider callback as its webhook verified it, before
     * anything is stored. Internal to provider-callback.
     */
    rawCallback: (provider: string) => `${namespace}.v1.callback.raw.${provider}`,
    /** Every raw callback. */
    rawCallbacks: `${namespace}.v1.callback.raw.*`,
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
    reportingWork: `${prefix}_REPORTING_WORK`,
    statusChanges: `${prefix}_STATUS_CHANGES`,
    callbacks: `${prefix}_CALLBACKS`,
  } as const;
}

/**
 * JetStream KV buckets; `providerRates` holds one token bucket per provider, shared by dispatch's
 * replicas; `cancellations` one key per cancelled communication (its ID), written by communication
 * and watched by dispatch, which hands nothing more of that communication to a provider.
 */
export function kvBucketNames(namespace = 'dlr') {
  assertNamespace(namespace);
  const prefix = namespace.toUpperCase().replaceAll('-', '_');
  return { providerRates: `${prefix}_PROVIDER_RATES`, cancellations: `${prefix}_CANCELLATIONS` } as const;
}

/** Durable consumer names; replicas of a service share one durable. */
export const consumerNames = {
  reportingRecipients: 'reporting-recipients',
  dispatchSend: 'dispatch-send',
  /** feedback-link: SMS short links into its own `short_links`. */
  feedbackShortLinks: 'feedback-short-links',
  /** feedback-link: what the recipient pages show, into its own `link_content`. */
  feedbackLinkContent: 'feedback-link-content',
  /** feedback-link: the answers it committed, into its own `feedback`. */
  feedbackAnswers: 'feedback-answers',
  /** dispatch: opt-outs from feedback-link into its suppression replica. */
  dispatchSuppressionsFeedback: 'dispatch-suppressions-feedback',
  /** dispatch: provider unsubscribes, complaints and permanent bounces into its suppression replica. */
  dispatchSuppressionsProvider: 'dispatch-suppressions-provider',
  /** dispatch: lifted suppressions out of its replica. */
  dispatchSuppressionLifts: 'dispatch-suppression-lifts',
  /** communication: opt-outs from feedback-link into its own suppression replica (for the delivery preview). */
  communicationSuppressionsFeedback: 'communication-suppressions-feedback',
  /** communication: provider unsubscribes, complaints and permanent bounces into its own suppression replica. */
  communicationSuppressionsProvider: 'communication-suppressions-provider',
  /** provider-callback learns provider message IDs from dispatch's Sent events (to release parked callbacks). */
  callbackDispatchEvents: 'provider-callback-dispatch-events',
  /** provider-callback: raw callbacks its webhooks committed, into `raw_callbacks` and on to DeliveryEvents. */
  callbackRaw: 'provider-callback-raw',
  /** Each service's own consumer of `PersonErased` (it erases its own collections only). */
  communicationErasure: 'communication-erasure',
  dispatchErasure: 'dispatch-erasure',
  callbackErasure: 'provider-callback-erasure',
  feedbackErasure: 'feedback-erasure',
  reportingErasure: 'reporting-erasure',
  /** reporting: removed recipients and deleted drafts, routed to the partitions of their records. */
  reportingRemovals: 'reporting-removals',
} as const;

/**
 * Reporting splits delivery records into this many partitions (by a hash of the delivery ID, see
 * {@link partitionOf}); each partition is written by one reporting replica at a time.
 */
export const REPORTING_PARTITIONS = 8;

/** The durable consumer of one reporting partition. */
export function reportingPartitionConsumer(partition: number): string {
  return `reporting-partition-${partition}`;
}

/** The priority group whose pinned client owns a reporting partition. */
export const REPORTING_PRIORITY_GROUP = 'owner';

/** True when NATS subject `subject` matches `pattern` (`*` is one token, `>` the rest), as the server matches. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** What an event does to its recipient's address (the last token of its subject). */
export function addressEffect(event: Pick<DeliveryEvent, 'status' | 'reasonCode'>): AddressEffect {
  return suppressionReason(event) ?? 'none';
}

/** The reporting partition of a delivery record: FNV-1a of its ID, modulo {@link REPORTING_PARTITIONS}. */
export function partitionOf(deliveryId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < deliveryId.length; i += 1) {
    hash ^= deliveryId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % REPORTING_PARTITIONS;
}

/**
 * Twilio's connection overrides on every StatusCallback URL dispatch gives Twilio: retry up to 5
 * times on any failure (connect/read timeout, 4xx, 5xx) — by default Twilio does not retry status
 * callbacks. Twilio's limit on the total time (15 s) still applies. provider-callback verifies a
 * signature both over the URL as requested and with this fragment.
 */
export const TWILIO_CALLBACK_OVERRIDES = '#rc=5&rp=all';

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
    // Work items are removed once the partition's owner acknowledged them. Delivery events come in
    // by the server's own sourcing, moved to their partition's subject (no hop through a service);
    // recipients come from reporting's router, which splits each batch by partition.
    {
      ...common,
      name: n.reportingWork,
      subjects: [`${namespace}.v1.reporting.work.>`],
      retention: RetentionPolicy.Workqueue,
      sources: [
        {
          name: n.delivery,
          subject_transforms: [
            {
              src: `${namespace}.v1.delivery.event.*.*.*`,
              dest: `${namespace}.v1.reporting.work.{{wildcard(2)}}.event`,
            },
          ],
        },
      ],
    },
    { ...common, name: n.statusChanges, subjects: [s.statusChanges] },
    // The webhooks' commit point: a callback is acknowledged to its provider once stored here.
    { ...common, name: n.callbacks, subjects: [s.rawCallbacks] },
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
  // A suppression replica reads only the events of one source that suppress an address.
  const suppressionReplica = (durable: string, source: DeliveryEventSource) => ({
    stream: n.delivery,
    config: { ...common, durable_name: durable, filter_subjects: s.suppressingEventsFrom(source) },
  });
  return [
    {
      stream: n.communication,
      config: { ...common, durable_name: consumerNames.reportingRecipients, filter_subject: s.recipientsAdded },
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
    {
      stream: n.dispatch,
      config: { ...common, durable_name: consumerNames.feedbackShortLinks, filter_subject: s.shortLinks },
    },
    {
      stream: n.dispatch,
      config: { ...common, durable_name: consumerNames.feedbackLinkContent, filter_subject: s.linkContents },
    },
    suppressionReplica(consumerNames.dispatchSuppressionsFeedback, 'feedback'),
    suppressionReplica(consumerNames.dispatchSuppressionsProvider, 'provider'),
    {
      stream: n.communication,
      config: { ...common, durable_name: consumerNames.dispatchSuppressionLifts, filter_subject: s.suppressionLifted },
    },
    suppressionReplica(consumerNames.communicationSuppressionsFeedback, 'feedback'),
    suppressionReplica(consumerNames.communicationSuppressionsProvider, 'provider'),
    {
      stream: n.delivery,
      config: {
        ...common,
        durable_name: consumerNames.feedbackAnswers,
        filter_subject: s.deliveryEventsFrom('feedback'),
      },
    },
    {
      stream: n.delivery,
      config: {
        ...common,
        durable_name: consumerNames.callbackDispatchEvents,
        filter_subject: s.deliveryEventsFrom('dispatch'),
      },
    },
    {
      stream: n.callbacks,
      config: {
        ...common,
        durable_name: consumerNames.callbackRaw,
        filter_subject: s.rawCallbacks,
        max_ack_pending: 4_000,
      },
    },
    ...[
      consumerNames.communicationErasure,
      consumerNames.dispatchErasure,
      consumerNames.callbackErasure,
      consumerNames.feedbackErasure,
      consumerNames.reportingErasure,
    ].map((durable) => ({
      stream: n.communication,
      config: { ...common, durable_name: durable, filter_subject: s.personErased },
    })),
    {
      stream: n.communication,
      config: { ...common, durable_name: consumerNames.reportingRemovals, filter_subject: s.recipientsRemoved },
    },
    ...Array.from({ length: REPORTING_PARTITIONS }, (_, partition) => ({
      stream: n.reportingWork,
      config: {
        ...common,
        durable_name: reportingPartitionConsumer(partition),
        filter_subject: s.reportingPartition(partition),
        ack_wait: 60 * SECOND_NS,
        max_ack_pending: 2_000,
        // One replica at a time owns a partition: the server pins the consumer to one client and
        // moves it to another when that client has not pulled for `priority_timeout` (clients pull
        // at least every 10 s, so this is how long a dead replica holds its partitions).
        priority_policy: 'pinned_client' as const,
        priority_groups: [REPORTING_PRIORITY_GROUP],
        priority_timeout: 120 * SECOND_NS,
      },
    })),
  ];
}

/** The whole system's topology, every stream and consumer: what each service ensures at start (idempotent). */
export function systemTopology(namespace = 'dlr'): {
  streams: ReturnType<typeof streamConfigs>;
  consumers: ReturnType<typeof consumerConfigs>;
} {
  return { streams: streamConfigs(namespace), consumers: consumerConfigs(namespace) };
}

function assertNamespace(namespace: string): void {
  if (!NS_PATTERN.test(namespace))
    throw new Error(`invalid NATS namespace "${namespace}": lower-case letters, digits, dashes`);
}
