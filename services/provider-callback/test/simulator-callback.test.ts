import { randomBytes } from 'node:crypto';
import {
  consumerNames,
  DeliveryStatus,
  EventSource,
  RawCallbackReceived,
  streamNames,
  subjects,
  systemTopology,
  signSimulatorCallback,
} from '@dlr/contracts';
import {
  baseConfigShape,
  connectMongo,
  connectNats,
  createLogger,
  ensureTopology,
  loadConfig,
  renderMetrics,
  type BuiltApp,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';
import { callbacksSettled } from './harness.js';
import { eventually, isolation, messageCount, serverUrls, storedEvents } from './helpers.js';

const SECRET = 'test-webhook-secret-0123456789';
const { db, namespace } = isolation();
const subject = subjects(namespace).deliveryEventsFrom('provider');
const logger = createLogger('provider-callback-test', 'silent');

let mongo: MongoHandle;
let nats: NatsHandle;
let app: BuiltApp;

function envFor(ns: string): Record<string, string> {
  const { natsUrl, mongoUri } = serverUrls();
  return {
    MONGODB_URI: mongoUri,
    MONGODB_DB: db,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: ns,
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    SIMULATOR_WEBHOOK_SECRET: SECRET,
  };
}

async function build(ns: string): Promise<BuiltApp> {
  const config = loadConfig({ ...baseConfigShape, ...configShape }, envFor(ns));
  return buildApp({ config, logger, mongo, nats });
}

function callback(overrides: Record<string, unknown> = {}) {
  const id = randomBytes(6).toString('hex');
  return {
    eventId: `sev_${id}`,
    messageId: `sim_${id}`,
    type: 'delivered',
    occurredAt: '2025-03-01T10:00:00.250Z',
    metadata: { deliveryId: `d_${id}`, communicationId: 'c_test1', attempt: 1 },
    ...overrides,
  };
}

function post(
  target: BuiltApp,
  body: string,
  opts: { timestamp?: number; signature?: string; contentType?: string } = {},
) {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return target.http.inject({
    method: 'POST',
    url: '/v1/callbacks/simulator',
    headers: {
      'content-type': opts.contentType ?? 'application/json',
      'x-simulator-timestamp': String(timestamp),
      'x-simulator-signature': opts.signature ?? signSimulatorCallback(SECRET, timestamp, body),
    },
    payload: body,
  });
}

const raw = () => mongo.db.collection<{ _id: string }>('raw_callbacks');

beforeAll(async () => {
  const { natsUrl, mongoUri } = serverUrls();
  mongo = await connectMongo({ uri: mongoUri, dbName: db, logger, appName: 'test' });
  nats = await connectNats({ servers: natsUrl, name: 'test', logger });
  const t = systemTopology(namespace);
  await ensureTopology(nats.jsm, t.streams, t.consumers);
  await migrate(mongo);
  app = await build(namespace);
  await app.start?.();
});

afterAll(async () => {
  await app?.stopConsuming?.();
  await app?.http.close();
  for (const name of Object.values(streamNames(namespace))) await nats?.jsm.streams.delete(name).catch(() => false);
  await mongo?.db.dropDatabase().catch(() => undefined);
  await nats?.drain();
  await mongo?.close();
});

describe('POST /v1/callbacks/simulator', () => {
  it('commits a valid callback, answers 202, then stores it raw and publishes its event durably', async () => {
    const cb = callback({ type: 'bounce', reason: 'mailbox full' });
    const body = JSON.stringify(cb);
    const before = Date.now();
    const res = await post(app, body);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'accepted', events: 1 });
    // 202 comes after the PubAck of the raw callback: it is in the stream, under the provider's event ID.
    const committed = await nats.jsm.streams.getMessage(streamNames(namespace).callbacks, {
      last_by_subj: subjects(namespace).rawCallback('simulator'),
    });
    expect(committed?.header.get('Nats-Msg-Id')).toBe(`callback:simulator:${cb.eventId}`);
    expect(RawCallbackReceived.decode(committed!.data)).toMatchObject({ provider: 'simulator', query: '' });

    await callbacksSettled(nats, namespace);
    const events = (await storedEvents(nats.jsm, namespace, subject)).filter(
      (e) => e.event.eventId === `provider:simulator:${cb.eventId}`,
    );
    expect(events).toHaveLength(1);
    const [stored] = events;
    expect(stored!.msgId).toBe(`provider:simulator:${cb.eventId}`);
    expect(stored!.event).toMatchObject({
      deliveryId: cb.metadata.deliveryId,
      communicationId: 'c_test1',
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
      source: EventSource.EVENT_SOURCE_PROVIDER,
      provider: 'simulator',
      providerEventType: 'bounce',
      reasonCode: 'temporary_bounce',
      reasonText: 'mailbox full',
      occurredAt: new Date(cb.occurredAt),
      providerMessageId: cb.messageId,
    });

    const doc = await raw().findOne({ _id: `simulator:${cb.eventId}` });
    expect(doc).toMatchObject({ provider: 'simulator', eventId: cb.eventId, body, type: 'bounce', mapped: true });
    const receivedAt = (doc as unknown as { receivedAt: Date }).receivedAt;
    expect(receivedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(stored!.event.receivedAt?.getTime()).toBe(receivedAt.getTime());
  });

  it('answers a repeat 202 and publishes it only once (same bytes, same Nats-Msg-Id)', async () => {
    const cb = callback({ type: 'failed', reason: '550 no such user' });
    const body = JSON.stringify(cb);
    const countBefore = await messageCount(nats.jsm, namespace, subject);
    expect((await post(app, body)).statusCode).toBe(202);
    await callbacksSettled(nats, namespace);
    const first = await raw().findOne({ _id: `simulator:${cb.eventId}` });
    // The provider retries later, with a new timestamp and signature over the same body.
    expect((await post(app, body, { timestamp: Math.floor(Date.now() / 1000) + 1 })).statusCode).toBe(202);
    expect((await post(app, body)).statusCode).toBe(202);
    await callbacksSettled(nats, namespace);

    expect(await messageCount(nats.jsm, namespace, subject)).toBe(countBefore + 1);
    const events = (await storedEvents(nats.jsm, namespace, subject)).filter(
      (e) => e.event.eventId === `provider:simulator:${cb.eventId}`,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.event.status).toBe(DeliveryStatus.DELIVERY_STATUS_FAILED);
    expect(events[0]!.event.reasonCode).toBe('permanent_bounce');
    expect(await raw().countDocuments({ _id: `simulator:${cb.eventId}` })).toBe(1);
    expect(await raw().findOne({ _id: `simulator:${cb.eventId}` })).toEqual(first);
  });

  describe('refuses without storing or publishing anything', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, number, () => { body: string; timestamp?: number; signature?: string }][] = [
      ['a bad signature', 401, () => ({ body: JSON.stringify(callback()), signature: `v1=${'0'.repeat(64)}` })],
      [
        'a signature made with another secret',
        401,
        () => {
          const body = JSON.stringify(callback());
          return { body, signature: signSimulatorCallback('another-secret-0123456789', now(), body) };
        },
      ],
      ['a missing signature', 401, () => ({ body: JSON.stringify(callback()), signature: '' })],
      [
        'a body changed after signing',
        401,
        () => {
          const cb = callback();
          const signature = signSimulatorCallback(SECRET, now(), JSON.stringify(cb));
          return { body: JSON.stringify({ ...cb, type: 'failed' }), signature };
        },
      ],
      ['a stale timestamp (replay)', 401, () => ({ body: JSON.stringify(callback()), timestamp: now() - 301 })],
      ['a timestamp from the future', 401, () => ({ body: JSON.stringify(callback()), timestamp: now() + 301 })],
      ['malformed JSON', 400, () => ({ body: '{"eventId":"sev_x","type":' })],
      ['missing metadata', 400, () => ({ body: JSON.stringify(callback({ metadata: undefined })) })],
      ['a known type without occurredAt', 400, () => ({ body: JSON.stringify(callback({ occurredAt: undefined })) })],
      ['no eventId', 400, () => ({ body: JSON.stringify(callback({ eventId: undefined, type: 'opened' })) })],
      ['an oversized body', 413, () => ({ body: JSON.stringify(callback({ reason: 'x'.repeat(70 * 1024) })) })],
    ];

    it.each(cases)('%s → %i', async (_name, status, make) => {
      await callbacksSettled(nats, namespace);
      const committedBefore = await messageCount(nats.jsm, namespace, subjects(namespace).rawCallbacks);
      const docsBefore = await raw().countDocuments({});
      const messagesBefore = await messageCount(nats.jsm, namespace, subject);
      const { body, timestamp, signature } = make();
      const res = await post(app, body, {
        ...(timestamp === undefined ? {} : { timestamp }),
        ...(signature === undefined ? {} : { signature }),
      });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ error: expect.any(String) });
      expect(await messageCount(nats.jsm, namespace, subjects(namespace).rawCallbacks)).toBe(committedBefore);
      expect(await raw().countDocuments({})).toBe(docsBefore);
      expect(await messageCount(nats.jsm, namespace, subject)).toBe(messagesBefore);
    });
  });

  it('stores an unknown event type raw, counts it, answers 202 and publishes nothing', async () => {
    const metric = async () => {
      const text = (await renderMetrics()).body;
      const line = /^dlr_callbacks_unmapped_total\{provider="simulator"\} (\d+)$/m.exec(text);
      return Number(line?.[1]);
    };
    const unmappedBefore = await metric();
    const messagesBefore = await messageCount(nats.jsm, namespace, subject);
    const cb = callback({ type: 'opened' });
    const body = JSON.stringify(cb);

    const res = await post(app, body);
    expect(res.statusCode).toBe(202);
    await callbacksSettled(nats, namespace);
    expect(await raw().findOne({ _id: `simulator:${cb.eventId}` })).toMatchObject({
      body,
      type: 'opened',
      mapped: false,
    });
    expect(await metric()).toBe(unmappedBefore + 1);
    expect(await messageCount(nats.jsm, namespace, subject)).toBe(messagesBefore);

    const metrics = await renderMetrics();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toMatch(/^dlr_callbacks_received_total\{provider="simulator"\} [1-9]\d*$/m);
  });

  it('answers 503 when the callback cannot be committed, stores nothing, and processes the retry', async () => {
    const missing = `${namespace}x`;
    const broken = await build(missing);
    const cb = callback();
    const body = JSON.stringify(cb);
    try {
      // No stream for the namespace yet: JetStream cannot commit, so nothing may be acknowledged.
      const res = await post(broken, body);
      expect(res.statusCode).toBe(503);
      expect(await raw().countDocuments({ _id: `simulator:${cb.eventId}` })).toBe(0);

      const t = systemTopology(missing);
      await ensureTopology(nats.jsm, t.streams, t.consumers);
      await broken.start?.();
      const missingSubject = subjects(missing).deliveryEventsFrom('provider');
      expect((await post(broken, body)).statusCode).toBe(202);
      const events = await eventually(async () => {
        const found = await storedEvents(nats.jsm, missing, missingSubject);
        expect(found).toHaveLength(1);
        return found;
      });
      const doc = (await raw().findOne({ _id: `simulator:${cb.eventId}` })) as unknown as { receivedAt: Date };
      expect(events[0]!.event.receivedAt?.getTime()).toBe(doc.receivedAt.getTime());
    } finally {
      await broken.stopConsuming?.();
      await broken.http.close();
      for (const name of Object.values(streamNames(missing))) await nats.jsm.streams.delete(name).catch(() => false);
    }
  });
});

describe('without the simulator configured', () => {
  it('has no simulator webhook: a correctly signed callback answers 404 and nothing is stored or published', async () => {
    const { SIMULATOR_WEBHOOK_SECRET: _secret, ...withoutSimulator } = envFor(namespace);
    const config = loadConfig({ ...baseConfigShape, ...configShape }, withoutSimulator);
    const production = await buildApp({ config, logger, mongo, nats });
    try {
      const before = [await raw().countDocuments({}), await messageCount(nats.jsm, namespace, subject)];
      const res = await post(production, JSON.stringify(callback()));
      expect(res.statusCode).toBe(404);
      expect([await raw().countDocuments({}), await messageCount(nats.jsm, namespace, subject)]).toEqual(before);
    } finally {
      await production.http.close();
    }
  });
});

describe('with CALLBACK_ROLE=webhooks (an edge replica)', () => {
  it('commits callbacks and leaves archiving and normalizing to a replica that runs the consumers', async () => {
    const ns = `${namespace}edge`;
    const t = systemTopology(ns);
    await ensureTopology(nats.jsm, t.streams, t.consumers);
    const edge = await buildApp({
      config: loadConfig({ ...baseConfigShape, ...configShape }, { ...envFor(ns), CALLBACK_ROLE: 'webhooks' }),
      logger,
      mongo,
      nats,
    });
    let worker: BuiltApp | undefined;
    try {
      await edge.start?.();
      const cb = callback();
      expect((await post(edge, JSON.stringify(cb))).statusCode).toBe(202);
      expect(await messageCount(nats.jsm, ns, subjects(ns).rawCallbacks, 'callbacks')).toBe(1);
      // Committed, and nobody pulls it: the edge started no consumer.
      const info = await nats.jsm.consumers.info(streamNames(ns).callbacks, consumerNames.callbackRaw);
      expect({ pending: info.num_pending, delivered: info.delivered.consumer_seq }).toEqual({
        pending: 1,
        delivered: 0,
      });
      expect(await raw().findOne({ _id: `simulator:${cb.eventId}` })).toBeNull();

      worker = await build(ns);
      await worker.start?.();
      await callbacksSettled(nats, ns);
      expect(await raw().findOne({ _id: `simulator:${cb.eventId}` })).toMatchObject({ mapped: true });
      const events = await storedEvents(nats.jsm, ns, subjects(ns).deliveryEventsFrom('provider'));
      expect(events.map((e) => e.event.eventId)).toEqual([`provider:simulator:${cb.eventId}`]);
    } finally {
      await worker?.stopConsuming?.();
      await worker?.http.close();
      await edge.stopConsuming?.();
      await edge.http.close();
      for (const name of Object.values(streamNames(ns))) await nats.jsm.streams.delete(name).catch(() => false);
    }
  });
});
