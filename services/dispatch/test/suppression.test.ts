import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  DeliveryEvent,
  DeliveryStatus,
  EventSource,
  LinkContent,
  SendRequested,
  streamNames,
  subjects,
  suppressionKey,
  SuppressionLifted,
} from '@dlr/contracts';
import { parseLinkKeys, verifyLink } from '@dlr/links';
import { connectNats, createLogger, startService, type NatsHandle, type RunningService } from '@dlr/platform';
import { buildSimulator, type Simulator } from '@dlr/provider-simulator';
import { MongoClient } from 'mongodb';
import { natsLinkIssuer } from '../src/adapters/nats/link-issuer.js';
import { buildApp, configShape, migrate } from '../src/index.js';
import { eventually, present } from '@dlr/testing';

const run = randomBytes(4).toString('hex');
const ns = `tsup${run}`;
const apiKey = randomBytes(16).toString('hex');
const linkKeys = `k1:${randomBytes(24).toString('base64url')}`;
const logger = createLogger('suppression-test', 'silent');

let sim: Simulator;
let service: RunningService<unknown>;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let nats: NatsHandle;
let mongo: MongoClient;

beforeAll(async () => {
  const { NATS_URL, MONGODB_URI } = process.env;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  sim = await buildSimulator({ apiKey, webhookSecret: 'w'.repeat(32), callbackDelayMs: 600_000 }, logger);
  const simUrl = await sim.app.listen({ host: '127.0.0.1', port: 0 });
  nc = await connect({ servers: NATS_URL });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  nats = await connectNats({ servers: NATS_URL, name: 'test', logger });
  mongo = await new MongoClient(MONGODB_URI).connect();
  service = await startService({
    name: 'dispatch',
    shape: configShape,
    migrate,
    build: buildApp,
    env: {
      NATS_URL,
      MONGODB_URI,
      MONGODB_DB: `t_${ns}`,
      NATS_NAMESPACE: ns,
      HTTP_PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'silent',
      SIMULATOR_URL: simUrl,
      SIMULATOR_API_KEY: apiKey,
      PROVIDER_CALLBACK_URL: 'http://127.0.0.1:9',
      FEEDBACK_BASE_URL: 'https://feedback.test.example',
      SHORT_LINK_BASE_URL: 'https://alert.example.org',
      LINK_SIGNING_KEYS: linkKeys,
      LIST_UNSUBSCRIBE_MAILTO: 'unsubscribe@alert.example.org',
    },
  });
});

afterAll(async () => {
  await service?.stop();
  for (const name of Object.values(streamNames(ns))) await jsm?.streams.delete(name).catch(() => false);
  await mongo
    ?.db(`t_${ns}`)
    .dropDatabase()
    .catch(() => undefined);
  await mongo?.close();
  await nats?.drain();
  await nc?.close();
  await sim?.stop();
});

let seq = 0;
function request(channel: 'email' | 'sms', address: string): SendRequested {
  seq++;
  return SendRequested.fromPartial({
    communicationId: `c_${run}_${seq}`,
    deliveryId: `d_${run}_${seq}`,
    attempt: 1,
    channel: channel === 'email' ? Channel.CHANNEL_EMAIL : Channel.CHANNEL_SMS,
    address,
    content: {
      title: 'Flood warning',
      emailSubject: 'Flood warning',
      emailBody: 'Move to higher ground.',
      smsText: 'Flood: move to higher ground.',
      acknowledgementRequested: true,
      responseOptions: ['Safe', 'Need help'],
    },
    requestedAt: new Date(),
  });
}

async function send(req: SendRequested): Promise<DeliveryEvent> {
  await js.publish(subjects(ns).sendRequested, SendRequested.encode(req).finish(), {
    msgID: `send:${req.deliveryId}:1`,
  });
  return eventually(async () => {
    const msg = await jsm.streams
      .getMessage(streamNames(ns).delivery, {
        last_by_subj: subjects(ns).deliveryEvent('dispatch', {
          ...req,
          status: DeliveryStatus.DELIVERY_STATUS_SENT,
          reasonCode: '',
        }),
      })
      .catch(() => null);
    const event = msg ? DeliveryEvent.decode(msg.data) : undefined;
    return present(event?.deliveryId === req.deliveryId ? event : undefined, `dispatch event of ${req.deliveryId}`);
  });
}

const outbox = (deliveryId: string) => sim.messages().filter((m) => m.metadata.deliveryId === deliveryId);
const suppressions = () => mongo.db(`t_${ns}`).collection<{ _id: string }>('suppressions');

async function publishEvent(source: 'feedback' | 'provider', event: Partial<DeliveryEvent>): Promise<void> {
  const e = DeliveryEvent.fromPartial({ attempt: 0, receivedAt: new Date(), ...event });
  await js.publish(subjects(ns).deliveryEvent(source, e), DeliveryEvent.encode(e).finish(), {
    msgID: e.eventId,
  });
}

describe('suppression', () => {
  it('never sends again to an address that opted out (any spelling), and sends again once lifted', async () => {
    const first = request('email', 'Ada.Lovelace@Example.org');
    expect(await send(first)).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT });
    expect(outbox(first.deliveryId)[0]!.body).toMatch(
      /To stop receiving these messages: https:\/\/feedback\.test\.example\/u\//,
    );

    await publishEvent('feedback', {
      eventId: `feedback:${first.deliveryId}:optout`,
      deliveryId: first.deliveryId,
      communicationId: first.communicationId,
      status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT,
      source: EventSource.EVENT_SOURCE_FEEDBACK,
    });
    const key = suppressionKey('email', 'ada.lovelace@example.org');
    await eventually(async () => present(await suppressions().findOne({ _id: key }), 'suppression'));

    const later = request('email', ' ada.lovelace@example.ORG ');
    expect(await send(later)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      reasonCode: 'suppressed',
    });
    expect(outbox(later.deliveryId)).toHaveLength(0);

    const lifted = SuppressionLifted.fromPartial({
      liftId: `l_${run}`,
      channel: Channel.CHANNEL_EMAIL,
      addressKey: key,
      operator: 'ops@example.org',
      reason: 'recipient asked by phone',
      liftedAt: new Date(),
    });
    await js.publish(subjects(ns).suppressionLifted, SuppressionLifted.encode(lifted).finish(), {
      msgID: `suppression-lifted:${lifted.liftId}`,
    });
    await eventually(async () => expect(await suppressions().findOne({ _id: key }), 'lifted suppression').toBeNull());
    const again = request('email', 'ada.lovelace@example.org');
    expect(await send(again)).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT });
  });

  it('suppresses on a provider complaint, not on an ordinary failure', async () => {
    const sms = request('sms', '+61400111222');
    await send(sms);
    expect(outbox(sms.deliveryId)[0]!.body).toMatch(/ Reply: https:\/\/alert\.example\.org\/s\/[0-9A-Za-z]{10}$/);
    await publishEvent('provider', {
      eventId: `provider:sim:${sms.deliveryId}:x`,
      deliveryId: sms.deliveryId,
      communicationId: sms.communicationId,
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'temporary_bounce',
      source: EventSource.EVENT_SOURCE_PROVIDER,
    });
    await publishEvent('provider', {
      eventId: `provider:sim:${sms.deliveryId}:y`,
      deliveryId: sms.deliveryId,
      communicationId: sms.communicationId,
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'complaint',
      source: EventSource.EVENT_SOURCE_PROVIDER,
    });
    const key = suppressionKey('sms', '+61400111222');
    const doc = await eventually(async () => present(await suppressions().findOne({ _id: key }), 'suppression'));
    expect(doc).toMatchObject({ reason: 'complaint', eventId: `provider:sim:${sms.deliveryId}:y` });
    expect(JSON.stringify(doc)).not.toContain('61400111222');
    expect(await send(request('sms', '+61 400 111 222'))).toMatchObject({ reasonCode: 'suppressed' });
  });
});

describe('links', () => {
  const keys = parseLinkKeys(linkKeys);
  const issuer = () =>
    natsLinkIssuer({
      nats,
      namespace: ns,
      keys,
      baseUrl: 'https://feedback.test.example',
      shortBaseUrl: 'https://alert.example.org',
      ttlDays: 30,
      optOutTtlDays: 90,
      unsubscribeMailto: 'unsubscribe@alert.example.org',
    });
  const content = SendRequested.fromPartial(request('email', 'x@example.org')).content!;

  it('gives email an opt-out link valid ≥ 30 days and the RFC 8058 headers', async () => {
    const now = new Date();
    const links = await issuer().issue({ deliveryId: 'd_l1', communicationId: 'c_l1', channel: 'email', content, now });
    expect(links.headers).toEqual({
      'List-Unsubscribe': `<${links.optout}>, <mailto:unsubscribe@alert.example.org?subject=unsubscribe%20d_l1>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    const token = links.optout!.slice('https://feedback.test.example/u/'.length);
    const claims = verifyLink(token, keys, 'optout', Math.floor(now.getTime() / 1000));
    expect(claims.expiresAt - claims.issuedAt).toBeGreaterThanOrEqual(30 * 86_400);
    expect(links.respond).toMatch(/^https:\/\/feedback\.test\.example\/a\//);
    // The open pixel: a 'read' token of this delivery, as long-lived as the opt-out link.
    const pixel = verifyLink(
      links.pixel!.slice('https://feedback.test.example/o/'.length),
      keys,
      'read',
      Math.floor(now.getTime() / 1000),
    );
    expect(pixel).toMatchObject({ deliveryId: 'd_l1', communicationId: 'c_l1', channel: 'email', action: 'read' });
    expect(pixel.expiresAt - pixel.issuedAt).toBe(90 * 86_400);
    // The pages' content is durable before the message goes out.
    const stored = await jsm.streams.getMessage(streamNames(ns).dispatch, {
      last_by_subj: subjects(ns).linkContent('c_l1'),
    });
    expect(LinkContent.decode(stored!.data)).toMatchObject({
      title: 'Flood warning',
      responseOptions: ['Safe', 'Need help'],
    });
  });

  it('gives SMS one short link of at most 40 characters', async () => {
    const links = await issuer().issue({
      deliveryId: `d_${'x'.repeat(30)}`,
      communicationId: 'c_l2',
      channel: 'sms',
      content: { ...content, responseOptions: [] },
      now: new Date(),
    });
    expect(links.ack).toMatch(/^https:\/\/alert\.example\.org\/s\/[0-9A-Za-z]{10}$/);
    expect(links.ack!.length).toBeLessThanOrEqual(40);
    expect(links.optout).toBeUndefined();
    expect(links.pixel).toBeUndefined();
  });
});
