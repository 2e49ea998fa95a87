import {
  Channel,
  consumerNames,
  DeliveryEvent,
  DeliveryStatus,
  EventSource,
  streamNames,
  subjects,
  systemTopology,
} from '@dlr/contracts';
import {
  baseConfigShape,
  connectMongo,
  connectNats,
  createLogger,
  ensureTopology,
  loadConfig,
  publishDurable,
  renderMetrics,
  type BuiltApp,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { buildApp, migrate, type AppOverrides } from '../src/app.js';
import { mailgunTokenBucket } from '../src/adapters/nats/mailgun-tokens.js';
import { configShape } from '../src/config.js';
import { expect } from 'vitest';
import { eventually, isolation, messageCount, serverUrls, storedEvents } from './helpers.js';

/** One test file's service: its own database and namespace, the app built in-process (consumer started). */
export interface Harness {
  readonly app: BuiltApp;
  readonly mongo: MongoHandle;
  readonly nats: NatsHandle;
  readonly namespace: string;
  /** Number of raw callbacks stored. */
  rawCount(): Promise<number>;
  /** The stored raw callback with this `_id`. */
  raw(id: string): Promise<Record<string, unknown> | null>;
  /** Number of events published by provider-callback. */
  published(): Promise<number>;
  /** Provider events published with this event ID. */
  events(eventId: string): Promise<{ msgId: string; event: DeliveryEvent }[]>;
  /** Publishes dispatch's Sent event for a provider message, as dispatch does. */
  dispatchSent(o: {
    provider: string;
    providerMessageId: string;
    deliveryId: string;
    communicationId?: string;
    attempt?: number;
  }): Promise<void>;
  /** Resolves once provider-callback has recorded dispatch's Sent event for this message key. */
  knows(messageKey: string): Promise<void>;
  /** Resolves once provider-callback's consumer has handled every committed callback. */
  settled(): Promise<void>;
  /** Number of callbacks the webhooks committed to JetStream. */
  committed(): Promise<number>;
  /** A counter's value from GET /metrics. */
  metric(name: string, provider: string): Promise<number>;
  close(): Promise<void>;
}

/** Starts a harness with these provider variables (base variables are filled in), on the shared servers unless given. */
export async function startHarness(
  env: Record<string, string>,
  overrides: AppOverrides = {},
  servers: { mongoUri?: string } = {},
): Promise<Harness> {
  const { db, namespace } = isolation();
  const { natsUrl } = serverUrls();
  const mongoUri = servers.mongoUri ?? serverUrls().mongoUri;
  const logger = createLogger('provider-callback-test', 'silent');
  const mongo = await connectMongo({ uri: mongoUri, dbName: db, logger, appName: 'test' });
  const nats = await connectNats({ servers: natsUrl, name: 'test', logger });
  const t = systemTopology(namespace);
  await ensureTopology(nats.jsm, t.streams, t.consumers);
  await migrate(mongo);
  const config = loadConfig(
    { ...baseConfigShape, ...configShape },
    {
      MONGODB_URI: mongoUri,
      MONGODB_DB: db,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: namespace,
      LOG_LEVEL: 'silent',
      ...env,
    },
  );
  const app = await buildApp({ config, logger, mongo, nats }, overrides);
  await app.start?.();
  const subject = subjects(namespace).deliveryEventsFrom('provider');
  const raws = mongo.db.collection<{ _id: string }>('raw_callbacks');
  return {
    app,
    mongo,
    nats,
    namespace,
    rawCount: () => raws.countDocuments({}),
    raw: (id) => raws.findOne({ _id: id }),
    published: () => messageCount(nats.jsm, namespace, subject),
    events: async (eventId) =>
      (await storedEvents(nats.jsm, namespace, subject)).filter((e) => e.event.eventId === eventId),
    knows: async (key) =>
      void (await eventually(async () =>
        expect(await mongo.db.collection<{ _id: string }>('provider_messages').findOne({ _id: key })).not.toBeNull(),
      )),
    dispatchSent: async ({ provider, providerMessageId, deliveryId, communicationId = 'c_parked', attempt = 1 }) => {
      const event = DeliveryEvent.fromPartial({
        eventId: `dispatch:${deliveryId}:${attempt}:sent`,
        deliveryId,
        communicationId,
        channel: Channel.CHANNEL_EMAIL,
        attempt,
        status: DeliveryStatus.DELIVERY_STATUS_SENT,
        source: EventSource.EVENT_SOURCE_DISPATCH,
        provider,
        providerMessageId,
        occurredAt: new Date(),
        receivedAt: new Date(),
      });
      await publishDurable(
        nats.js,
        subjects(namespace).deliveryEvent('dispatch', event),
        DeliveryEvent.encode(event).finish(),
        event.eventId,
      );
    },
    settled: () => callbacksSettled(nats, namespace),
    committed: () => messageCount(nats.jsm, namespace, subjects(namespace).rawCallbacks, 'callbacks'),
    metric: async (name, provider) => {
      const text = (await renderMetrics()).body;
      const line = new RegExp(`^${name}\\{provider="${provider}"\\} (\\d+)$`, 'm').exec(text);
      return Number(line?.[1] ?? NaN);
    },
    close: async () => {
      await app.stopConsuming?.();
      await app.http.close();
      for (const name of Object.values(streamNames(namespace))) await nats.jsm.streams.delete(name).catch(() => false);
      await nats.jsm.streams.delete(`KV_${mailgunTokenBucket(namespace)}`).catch(() => false);
      await mongo.db.dropDatabase().catch(() => undefined);
      await nats.drain();
      await mongo.close();
    },
  };
}

/** Resolves once the consumer of committed callbacks has nothing pending or unacknowledged in `namespace`. */
export async function callbacksSettled(nats: NatsHandle, namespace: string): Promise<void> {
  await eventually(async () => {
    const info = await nats.jsm.consumers.info(streamNames(namespace).callbacks, consumerNames.callbackRaw);
    expect({ pending: info.num_pending, ackPending: info.num_ack_pending }, 'raw callbacks handled').toEqual({
      pending: 0,
      ackPending: 0,
    });
  }, 15_000);
}

/** Asserts a request changed nothing: no callback committed or stored raw, no event published. */
export async function expectNothingStored(h: Harness, run: () => Promise<void>): Promise<void> {
  await h.settled();
  const before = [await h.committed(), await h.rawCount(), await h.published()];
  await run();
  const after = [await h.committed(), await h.rawCount(), await h.published()];
  if (after.some((n, i) => n !== before[i]))
    throw new Error(
      `expected nothing committed, stored or published; [committed, raw, events] ${before.join(', ')} → ${after.join(', ')}`,
    );
}

/** A short random hex ID. */
export const rid = () => Math.random().toString(16).slice(2, 12);
