import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  consumerNames,
  DeliveryEvent,
  DeliveryStatus,
  EventSource,
  SendRequested,
  ShortLinkIssued,
  streamNames,
  subjects,
} from '@dlr/contracts';
import { parseLinkKeys, verifyLink } from '@dlr/links';
import { createLogger, startService, type RunningService } from '@dlr/platform';
import { buildSimulator, type Simulator } from '@dlr/provider-simulator';
import { buildApp, configShape, migrate, type AttemptDoc } from '../src/index.js';
import { eventually, present } from '@dlr/testing';

const apiKey = 'sim-test-key';
const webhookSecret = 'sim-test-webhook-secret-0123456789';
const linkKeys = `k1:${'s'.repeat(40)}`;
const feedbackBase = 'https://feedback.test.example';
const run = randomBytes(3).toString('hex');

let sim: Simulator;
let simUrl: string;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let mongo: MongoClient;

beforeAll(async () => {
  if (!process.env['NATS_URL'] || !process.env['MONGODB_URI'])
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  // Callbacks are not what these tests look at: they are due long after the tests end.
  sim = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 600_000 }, createLogger('simulator', 'silent'));
  simUrl = await sim.app.listen({ host: '127.0.0.1', port: 0 });
  nc = await connect({ servers: process.env['NATS_URL'] });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  mongo = await new MongoClient(process.env['MONGODB_URI']).connect();
});

afterAll(async () => {
  await mongo?.close();
  await nc?.close();
  await sim?.stop();
});

function serviceEnv(ns: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: process.env['NATS_URL']!,
    MONGODB_URI: process.env['MONGODB_URI']!,
    MONGODB_DB: `t_${ns}`,
    NATS_NAMESPACE: ns,
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    SIMULATOR_URL: simUrl,
    SIMULATOR_API_KEY: apiKey,
    // Nobody listens there; the simulator's callbacks are not due during the tests anyway.
    PROVIDER_CALLBACK_URL: 'http://127.0.0.1:9',
    FEEDBACK_BASE_URL: feedbackBase,
    LINK_SIGNING_KEYS: linkKeys,
    PROVIDER_RETRY_BASE_MS: '10',
    ...extra,
  };
}

/** Collects every dispatch event stored in the namespace's delivery stream. */
async function collectEvents(ns: string): Promise<{ events: DeliveryEvent[]; stop: () => Promise<void> }> {
  const events: DeliveryEvent[] = [];
  const consumer = await js.consumers.get(streamNames(ns).delivery, {
    filter_subjects: [subjects(ns).deliveryEventsFrom('dispatch')],
  });
  const messages = await consumer.consume();
  const loop = (async () => {
    for await (const m of messages) events.push(DeliveryEvent.decode(m.data));
  })();
  return {
    events,
    stop: async () => {
      await messages.close();
      await loop;
    },
  };
}

let seq = 0;
function sendRequest(channel: 'email' | 'sms', address: string, overrides: Partial<SendRequested> = {}): SendRequested {
  seq++;
  return SendRequested.fromPartial({
    communicationId: `c_${run}`,
    deliveryId: `d_${run}_${seq}`,
    attempt: 1,
    channel: channel === 'email' ? Channel.CHANNEL_EMAIL : Channel.CHANNEL_SMS,
    recipientName: 'Ada Lovelace',
    address,
    content: {
      title: 'Flood warning',
      emailSubject: 'Flood warning: move to higher ground',
      emailBody: 'The river is rising. Move to higher ground now.',
      smsText: 'Flood warning: move to higher ground now.',
      acknowledgementRequested: true,
    },
    requestedAt: new Date(),
    ...overrides,
  });
}

async function publishSend(
  ns: string,
  request: SendRequested,
  msgId = `send:${request.deliveryId}:${request.attempt}`,
) {
  await js.publish(subjects(ns).sendRequested, SendRequested.encode(request).finish(), { msgID: msgId });
}

/** Resolves once the dispatch consumer has nothing pending and nothing unacknowledged. */
async function dispatchIdle(ns: string): Promise<void> {
  await eventually(async () => {
    const info = await jsm.consumers.info(streamNames(ns).dispatch, consumerNames.dispatchSend);
    expect({ pending: info.num_pending, ackPending: info.num_ack_pending }, 'dispatch consumer idle').toEqual({
      pending: 0,
      ackPending: 0,
    });
  }, 20_000);
}

function outboxFor(deliveryId: string) {
  return sim.messages().filter((m) => m.metadata.deliveryId === deliveryId);
}

function tokenFrom(url: string): string {
  expect(url.startsWith(`${feedbackBase}/a/`)).toBe(true);
  return url.slice(`${feedbackBase}/a/`.length);
}

describe('dispatch (in-process, real NATS + MongoDB-compatible server, simulator provider)', () => {
  const ns = `t${randomBytes(4).toString('hex')}`;
  let service: RunningService<unknown>;
  let collected: Awaited<ReturnType<typeof collectEvents>>;
  const eventOf = (deliveryId: string) =>
    eventually(
      () =>
        present(
          collected.events.find((e) => e.deliveryId === deliveryId),
          `event of ${deliveryId}`,
        ),
      20_000,
    );

  beforeAll(async () => {
    service = await startService({
      name: 'dispatch',
      shape: configShape,
      migrate,
      build: buildApp,
      env: serviceEnv(ns),
    });
    collected = await collectEvents(ns);
  });

  afterAll(async () => {
    await collected?.stop();
    await service?.stop();
  });

  it('answers /healthz, and /readyz on its admin port', async () => {
    expect((await fetch(`${service.httpUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { mongodb: 'ok', nats: 'ok' } });
  });

  it('sends an email the provider accepts: Sent with its message ID, and a working acknowledge link', async () => {
    const req = sendRequest('email', `delivered+${run}@example.org`);
    await publishSend(ns, req);
    const event = await eventOf(req.deliveryId);
    const [message] = outboxFor(req.deliveryId);
    expect(message).toBeDefined();
    expect(event).toMatchObject({
      eventId: `dispatch:${req.deliveryId}:1:sent`,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      source: EventSource.EVENT_SOURCE_DISPATCH,
      provider: 'simulator',
      providerMessageId: message!.messageId,
      attempt: 1,
      channel: Channel.CHANNEL_EMAIL,
      communicationId: req.communicationId,
      reasonCode: '',
    });
    expect(event.occurredAt).toBeInstanceOf(Date);
    expect(event.receivedAt).toBeInstanceOf(Date);
    expect(message).toMatchObject({
      channel: 'email',
      to: req.address,
      subject: 'Flood warning: move to higher ground',
      metadata: { deliveryId: req.deliveryId, communicationId: req.communicationId, attempt: 1 },
    });
    expect(message!.body.startsWith('The river is rising. Move to higher ground now.')).toBe(true);
    const url = /^Acknowledge receipt: (\S+)$/m.exec(message!.body)?.[1];
    expect(url).toBeDefined();
    const claims = verifyLink(tokenFrom(url!), parseLinkKeys(linkKeys), 'ack', Math.floor(Date.now() / 1000));
    expect(claims).toMatchObject({ deliveryId: req.deliveryId, communicationId: req.communicationId, action: 'ack' });
    // About LINK_TTL_DAYS (30) from now.
    expect(claims.expiresAt - Date.now() / 1000).toBeGreaterThan(29 * 86_400);
    // The HTML part reaches the simulator too: the same link as a button, and this record's open pixel.
    expect(message!.html).toContain(`<a class="button" href="${url}">Acknowledge receipt</a>`);
    const pixel = /<img src="([^"]+)" alt="" width="1" height="1"/.exec(message!.html ?? '')?.[1];
    expect(pixel).toMatch(new RegExp(`^${feedbackBase}/o/`));
    const read = verifyLink(
      pixel!.slice(`${feedbackBase}/o/`.length),
      parseLinkKeys(linkKeys),
      'read',
      Math.floor(Date.now() / 1000),
    );
    expect(read).toMatchObject({ deliveryId: req.deliveryId, action: 'read', channel: 'email' });
  });

  it('puts a verifiable acknowledge link at the end of an SMS', async () => {
    const req = sendRequest('sms', '+61400109991');
    await publishSend(ns, req);
    expect(await eventOf(req.deliveryId)).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT });
    const [message] = outboxFor(req.deliveryId);
    // A short link (≤ 40 characters on a real host) whose code dispatch published, durably, before the send.
    const match = /^Flood warning: move to higher ground now\. Ack: (\S+)$/.exec(message!.body);
    expect(match).not.toBeNull();
    const code = /\/s\/([0-9A-Za-z]{10})$/.exec(match![1]!)?.[1];
    expect(match![1]).toBe(`${feedbackBase}/s/${code}`);
    const issued = await jsm.streams.getMessage(streamNames(ns).dispatch, {
      last_by_subj: subjects(ns).shortLinkIssued(code!),
    });
    const { token } = ShortLinkIssued.decode(issued!.data);
    const claims = verifyLink(token, parseLinkKeys(linkKeys), 'ack', Math.floor(Date.now() / 1000));
    expect(claims).toMatchObject({ deliveryId: req.deliveryId, channel: 'sms', action: 'ack' });
  });

  it('sends no link when no acknowledgement is requested', async () => {
    const req = sendRequest('sms', '+61400119991');
    req.content!.acknowledgementRequested = false;
    await publishSend(ns, req);
    await eventOf(req.deliveryId);
    expect(outboxFor(req.deliveryId)[0]?.body).toBe('Flood warning: move to higher ground now.');
  });

  it('reports Not Sent provider_rejected, with the provider’s words, for an address the provider refuses', async () => {
    for (const [channel, address] of [
      ['email', `reject+${run}@example.org`],
      ['sms', '+61400109990'],
    ] as const) {
      const req = sendRequest(channel, address);
      await publishSend(ns, req);
      const event = await eventOf(req.deliveryId);
      expect(event).toMatchObject({
        eventId: `dispatch:${req.deliveryId}:1:not_sent`,
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        reasonCode: 'provider_rejected',
        providerEventType: 'rejected',
        provider: 'simulator',
        providerMessageId: '',
      });
      expect(event.reasonText.length).toBeGreaterThan(0);
      expect(outboxFor(req.deliveryId)).toEqual([]);
    }
  });

  it('sends once when the same request is published twice under different message IDs', async () => {
    const req = sendRequest('email', `delivered+dup${run}@example.org`);
    await publishSend(ns, req, `first:${req.deliveryId}`);
    await publishSend(ns, req, `second:${req.deliveryId}`);
    await eventOf(req.deliveryId);
    await dispatchIdle(ns);
    expect(outboxFor(req.deliveryId)).toHaveLength(1);
    // Both handlers published the same event ID; JetStream kept one.
    const events = collected.events.filter((e) => e.deliveryId === req.deliveryId);
    expect(events.map((e) => e.eventId)).toEqual([`dispatch:${req.deliveryId}:1:sent`]);
    expect(events[0]!.providerMessageId).toBe(outboxFor(req.deliveryId)[0]!.messageId);
  });

  it('a new attempt of the same delivery is sent again', async () => {
    const first = sendRequest('sms', '+61400129991');
    await publishSend(ns, first);
    await eventOf(first.deliveryId);
    const second = SendRequested.fromPartial({ ...first, attempt: 2 });
    await publishSend(ns, second);
    await eventually(
      () =>
        present(
          collected.events.find((e) => e.deliveryId === first.deliveryId && e.attempt === 2),
          'event of attempt 2',
        ),
      20_000,
    );
    expect(outboxFor(first.deliveryId).map((m) => m.metadata.attempt)).toEqual([1, 2]);
  });

  it('finishes an attempt left "sending" by a crash through the idempotent simulator without a second message', async () => {
    const req = sendRequest('email', `delivered+crash${run}@example.org`);
    // The crashed handler had reached the provider: the simulator accepted the message under the
    // attempt's idempotency key, and dispatch never recorded the answer.
    const first = await fetch(`${simUrl}/v1/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': `${req.deliveryId}:1`,
      },
      body: JSON.stringify({
        channel: 'email',
        to: req.address,
        subject: 'Crash drill',
        body: 'sent before the crash',
        callbackUrl: 'http://127.0.0.1:9/unused',
        metadata: { deliveryId: req.deliveryId, communicationId: req.communicationId, attempt: 1 },
      }),
    });
    expect(first.status).toBe(202);
    const { messageId } = (await first.json()) as { messageId: string };
    await mongo
      .db(`t_${ns}`)
      .collection<AttemptDoc>('attempts')
      .insertOne({
        _id: `${req.deliveryId}:1`,
        deliveryId: req.deliveryId,
        communicationId: req.communicationId,
        attempt: 1,
        channel: 'email',
        state: 'sending',
        createdAt: new Date(Date.now() - 10 * 60_000),
        provider: 'simulator',
      });
    await publishSend(ns, req);
    const event = await eventOf(req.deliveryId);
    expect(event).toMatchObject({
      eventId: `dispatch:${req.deliveryId}:1:sent`,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      providerMessageId: messageId,
    });
    // One message at the provider: the repeat was recognised, not sent again.
    expect(outboxFor(req.deliveryId).map((m) => m.messageId)).toEqual([messageId]);
    const stored = await mongo
      .db(`t_${ns}`)
      .collection<AttemptDoc>('attempts')
      .findOne({ _id: `${req.deliveryId}:1` });
    expect(stored).toMatchObject({ state: 'sent', providerMessageId: messageId });
  });

  it('retries a provider answering 503, then reports Not Sent provider_unavailable', async () => {
    sim.setFailRate(1);
    try {
      const before = sim.stats().unavailable;
      const req = sendRequest('sms', '+61400139991');
      await publishSend(ns, req);
      const event = await eventOf(req.deliveryId);
      expect(event).toMatchObject({
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        reasonCode: 'provider_unavailable',
        providerEventType: 'http_503',
      });
      expect(event.reasonText).toMatch(/503/);
      // The first call and PROVIDER_MAX_RETRIES (4) retries.
      expect(sim.stats().unavailable - before).toBe(5);
      expect(outboxFor(req.deliveryId)).toEqual([]);
    } finally {
      sim.setFailRate(0);
    }
  });

  it('records each attempt by <deliveryId>:<attempt>, without the address or content', async () => {
    const req = sendRequest('email', `delivered+doc${run}@example.org`);
    await publishSend(ns, req);
    await eventOf(req.deliveryId);
    const stored = await mongo
      .db(`t_${ns}`)
      .collection<AttemptDoc>('attempts')
      .findOne({ _id: `${req.deliveryId}:1` });
    expect(stored).toMatchObject({
      deliveryId: req.deliveryId,
      communicationId: req.communicationId,
      attempt: 1,
      channel: 'email',
      state: 'sent',
      provider: 'simulator',
      providerMessageId: outboxFor(req.deliveryId)[0]!.messageId,
    });
    expect(stored!.createdAt).toBeInstanceOf(Date);
    expect(stored!.finishedAt).toBeInstanceOf(Date);
    expect(JSON.stringify(stored)).not.toContain(req.address);
    expect(JSON.stringify(stored)).not.toContain('river');
  });
});

describe('dispatch as its own process (main.ts) at LOG_LEVEL=debug', () => {
  const ns = `t${randomBytes(4).toString('hex')}`;
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('logs IDs but never an address, a name or message content', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const tsx = path.resolve(root, '../../node_modules/.bin/tsx');
    child = spawn(tsx, ['--conditions=source', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, ...serviceEnv(ns, { LOG_LEVEL: 'debug' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => expect(output, 'dispatch started').toContain('consuming send requests'), 60_000);
    const collected = await collectEvents(ns);
    try {
      const requests = [
        sendRequest('email', `delivered+log${run}@example.org`),
        sendRequest('email', `reject+log${run}@example.org`),
        sendRequest('sms', '+61400149991'),
        sendRequest('sms', '+61400149990'),
      ];
      for (const r of requests) await publishSend(ns, r);
      await eventually(
        () =>
          expect(
            requests.filter((r) => !collected.events.some((e) => e.deliveryId === r.deliveryId)),
            'requests without an event',
          ).toEqual([]),
        20_000,
      );
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The debug log did cover these messages…
      for (const r of requests) expect(output).toContain(r.deliveryId);
      // …and holds nothing personal.
      for (const r of requests) expect(output).not.toContain(r.address);
      for (const needle of ['5550149991', '5550149990', 'Ada Lovelace', 'river is rising', 'Flood warning', '/a/v1.'])
        expect(output).not.toContain(needle);
    } finally {
      await collected.stop();
    }
  });
});
