// Test helpers: start reporting in-process against the real NATS + MongoDB-compatible server, publish
// contract messages, and wait for conditions with a deadline (never sleeps for synchronization).
import { randomBytes } from 'node:crypto';
import { credentials } from '@grpc/grpc-js';
import type { DeliveryStatus } from '@dlr/contracts';
import {
  AddedDelivery,
  ReportingServiceClient,
  Channel,
  consumerNames,
  REPORTING_PARTITIONS,
  reportingPartitionConsumer,
  DeliveryEvent,
  EventSource,
  RecipientsAdded,
  RecipientsRemoved,
  streamNames,
  subjects,
  type DeliveryEventSource,
} from '@dlr/contracts';
import {
  bearerInterceptor,
  connectMongo,
  connectNats,
  createLogger,
  publishDurable,
  startService,
  type NatsHandle,
} from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { buildApp, configShape, migrate } from '../src/index.js';

/** A random lower-case suffix for database names, namespaces and IDs. */
export function rand(n = 10): string {
  return randomBytes(16).toString('hex').slice(0, n);
}

/** The servers the global setup started (or found). */
export function infra(): { natsUrl: string; mongoUri: string } {
  const natsUrl = process.env['NATS_URL'];
  const mongoUri = process.env['MONGODB_URI'];
  if (!natsUrl || !mongoUri) throw new Error('NATS_URL and MONGODB_URI must be set (by the vitest global setup)');
  return { natsUrl, mongoUri };
}

export const silentLogger = createLogger('reporting-test', 'silent');

/** The operator token the test services accept (`Authorization: Bearer …`). */
export const TEST_OPERATOR_TOKEN = 'test-operator-token-0123456789';

/** Headers that authenticate as the test operator. */
export const AUTH = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` } as const;

/** The SERVICE_TOKEN the test services accept from our other services over gRPC. */
export const TEST_SERVICE_TOKEN = 'test-service-token-0123456789-abcdefghij';

/** A gRPC client of the harness's ReportingService sending `token` (the test operator's unless given; null: none). */
export function grpcClient(
  h: Pick<Harness, 'grpcPort'>,
  token: string | null = TEST_OPERATOR_TOKEN,
): ReportingServiceClient {
  return new ReportingServiceClient(`127.0.0.1:${h.grpcPort}`, credentials.createInsecure(), {
    interceptors: token === null ? [] : [bearerInterceptor(token)],
  });
}

/** A reporting service started in-process with its own database and namespace, and a NATS client. */
export interface Harness {
  readonly ns: string;
  readonly db: string;
  readonly httpUrl: string;
  readonly grpcPort: number;
  readonly nats: NatsHandle;
  /**
   * Stops the service, deletes the namespace's streams and (unless kept) the database; true when
   * every shutdown step finished in time.
   */
  stop(options?: { keepDatabase?: boolean }): Promise<boolean>;
}

/**
 * Starts reporting (HTTP and gRPC on free ports) plus a NATS client for publishing; in a fresh
 * database and namespace unless `db` / `ns` name ones (prepared by the test); `env` adds variables.
 */
export async function startReporting(
  options: { db?: string; ns?: string; env?: Record<string, string> } = {},
): Promise<Harness> {
  const { natsUrl, mongoUri } = infra();
  const ns = options.ns ?? `t${rand(12)}`;
  const db = options.db ?? `t_${rand(12)}`;
  const service = await startService({
    name: 'reporting',
    shape: configShape,
    migrate,
    build: buildApp,
    grpcPortKey: 'GRPC_PORT',
    env: {
      MONGODB_URI: mongoUri,
      MONGODB_DB: db,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: ns,
      HTTP_PORT: '0',
      ADMIN_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      OPERATOR_TOKEN: TEST_OPERATOR_TOKEN,
      SERVICE_TOKEN: TEST_SERVICE_TOKEN,
      REPORTING_CONCURRENCY: '8',
      ...options.env,
    },
  });
  const nats = await connectNats({ servers: natsUrl, name: 'reporting-test', logger: silentLogger });
  return {
    ns,
    db,
    httpUrl: service.httpUrl,
    grpcPort: service.grpcPort ?? -1,
    nats,
    stop: async (stopOptions = {}) => {
      const clean = await service.stop();
      for (const name of Object.values(streamNames(ns))) await nats.jsm.streams.delete(name).catch(() => undefined);
      await nats.drain();
      if (stopOptions.keepDatabase === true) return clean;
      const mongo = await connectMongo({ uri: mongoUri, dbName: db, logger: silentLogger, appName: 'reporting-test' });
      await mongo.db.dropDatabase();
      await mongo.close();
      return clean;
    },
  };
}

/** Publishes a `RecipientsAdded` as communication would (`occurredAt`: now unless given). */
export async function publishRecipients(
  h: Pick<Harness, 'nats' | 'ns'>,
  communicationId: string,
  deliveries: { id: string; channel: 'email' | 'sms'; name: string; address: string }[],
  about: { title?: string; occurredAt?: Date } | Date = {},
): Promise<void> {
  const bytes = RecipientsAdded.encode(
    RecipientsAdded.fromPartial({
      communicationId,
      title: about instanceof Date ? '' : (about.title ?? ''),
      occurredAt: about instanceof Date ? about : (about.occurredAt ?? new Date()),
      deliveries: deliveries.map((d) =>
        AddedDelivery.fromPartial({
          deliveryId: d.id,
          channel: d.channel === 'email' ? Channel.CHANNEL_EMAIL : Channel.CHANNEL_SMS,
          recipientKey: `rk_${d.id}`,
          recipientName: d.name,
          address: d.address,
        }),
      ),
    }),
  ).finish();
  await publishDurable(h.nats.js, subjects(h.ns).recipientsAdded, bytes, `ra:${communicationId}:${rand()}`);
}

/** Publishes a `RecipientsRemoved` as communication would. */
export async function publishRemoved(
  h: Pick<Harness, 'nats' | 'ns'>,
  communicationId: string,
  deliveryIds: string[],
  removedAt = new Date(),
  deleted = false,
): Promise<void> {
  const bytes = RecipientsRemoved.encode(
    RecipientsRemoved.fromPartial({ communicationId, deliveryIds, removedAt, communicationDeleted: deleted }),
  ).finish();
  await publishDurable(h.nats.js, subjects(h.ns).recipientsRemoved, bytes, `rr:${communicationId}:${rand()}`);
}

const SOURCE: Record<DeliveryEventSource, EventSource> = {
  dispatch: EventSource.EVENT_SOURCE_DISPATCH,
  provider: EventSource.EVENT_SOURCE_PROVIDER,
  feedback: EventSource.EVENT_SOURCE_FEEDBACK,
};

/** A delivery event to publish. */
export interface TestEvent {
  eventId: string;
  deliveryId: string;
  communicationId: string;
  status: DeliveryStatus;
  attempt: number;
  source?: DeliveryEventSource;
  reasonCode?: string;
  reasonText?: string;
  response?: string;
  receivedAt?: Date;
  channel?: Channel;
}

/** Encodes a delivery event. */
export function encodeEvent(e: TestEvent): Uint8Array {
  const source = e.source ?? 'provider';
  return DeliveryEvent.encode(
    DeliveryEvent.fromPartial({
      eventId: e.eventId,
      deliveryId: e.deliveryId,
      communicationId: e.communicationId,
      channel: e.channel ?? Channel.CHANNEL_EMAIL,
      attempt: e.attempt,
      status: e.status,
      source: SOURCE[source],
      provider: source === 'feedback' ? '' : 'simulator',
      providerEventType: source === 'provider' ? 'delivered' : '',
      reasonCode: e.reasonCode ?? '',
      reasonText: e.reasonText ?? '',
      response: e.response ?? '',
      occurredAt: e.receivedAt ?? new Date(),
      receivedAt: e.receivedAt ?? new Date(),
    }),
  ).finish();
}

/**
 * Publishes a delivery event on its subject (source, partition, address effect), as the publishers
 * do. `msgId` defaults to the event ID; pass another to get a duplicate past JetStream's own dedupe.
 * `subject` overrides the subject (a wrong one).
 */
export async function publishEvent(
  h: Pick<Harness, 'nats' | 'ns'>,
  e: TestEvent,
  msgId = e.eventId,
  subject = subjects(h.ns).deliveryEvent(e.source ?? 'provider', { reasonCode: '', ...e }),
): Promise<void> {
  await publishDurable(h.nats.js, subject, encodeEvent(e), msgId);
}

/**
 * Resolves once reporting has handled (acked or dead-lettered) everything published: the routing of
 * recipients, the work queue's sourcing of delivery events, then every partition's work queue
 * (within `timeoutMs`).
 */
export async function settled(h: Harness, timeoutMs = 15_000): Promise<void> {
  const streams = streamNames(h.ns);
  await eventually(async () => {
    const work = await h.nats.jsm.streams.info(streams.reportingWork);
    const delivery = await h.nats.jsm.streams.info(streams.delivery);
    for (const source of work.sources ?? []) {
      if (source.lag !== 0) throw new Error(`${source.name} sourcing: ${source.lag} behind`);
    }
    if (delivery.state.last_seq > 0 && (work.sources ?? []).length === 0) throw new Error('no sourcing');
    for (const [stream, durable] of [
      [streams.communication, consumerNames.reportingRecipients],
      [streams.communication, consumerNames.reportingRemovals],
      ...Array.from({ length: REPORTING_PARTITIONS }, (_, p) => [streams.reportingWork, reportingPartitionConsumer(p)]),
    ] as const) {
      const info = await h.nats.jsm.consumers.info(stream, durable);
      if (info.num_pending !== 0 || info.num_ack_pending !== 0 || info.num_redelivered !== 0) {
        throw new Error(`${durable}: ${info.num_pending} pending, ${info.num_ack_pending} unacked`);
      }
    }
  }, timeoutMs);
}

/** A record as the REST API returns it. */
export interface RecordJson {
  id: string;
  communicationId?: string;
  channel: 'email' | 'sms' | null;
  recipientName: string;
  address: string;
  status: string;
  statusLabel: string;
  response: string;
  reasonCode: string;
  reasonText: string;
  attempt: number;
  flags: string[];
  updatedAt: string;
}

/** Body of `GET /api/v1/communications/:id/delivery-records`. */
export interface ListJson {
  communicationId: string;
  total: number;
  counts: Record<string, number>;
  records: RecordJson[];
  nextCursor: string | null;
}

/** Body of `GET /api/v1/delivery-records/:id`. */
export interface DetailJson {
  record: RecordJson;
  timeline: {
    eventId: string;
    status: string;
    statusLabel: string;
    source: string;
    attempt: number;
    receivedAt: string;
  }[];
}

/** Body of an error response. */
export interface ErrorJson {
  error: string;
  message: string;
}

/** GETs JSON from the service. */
export async function getJson<T>(h: Harness, path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${h.httpUrl}${path}`, { headers: AUTH });
  return { status: response.status, body: (await response.json()) as T };
}

/** The ten counts with the given ones set and the rest zero. */
export function counts(nonZero: Record<string, number>): Record<string, number> {
  const all: Record<string, number> = {
    pending: 0,
    sent: 0,
    not_sent: 0,
    bounced_temporarily: 0,
    delivered: 0,
    read: 0,
    failed: 0,
    acknowledged: 0,
    responded: 0,
    opted_out: 0,
  };
  return { ...all, ...nonZero };
}
