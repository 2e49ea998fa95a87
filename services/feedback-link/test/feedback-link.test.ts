import { randomBytes } from 'node:crypto';
import { DeliveryStatus, EventSource, streamNames, subjects } from '@dlr/contracts';
import { parseLinkKeys, signLink, type LinkKey } from '@dlr/links';
import {
  baseConfigShape,
  connectMongo,
  connectNats,
  createLogger,
  ensureTopology,
  loadConfig,
  type BuiltApp,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, migrate, topology } from '../src/app.js';
import { configShape } from '../src/config.js';
import { eventually, isolation, messageCount, serverUrls, storedEvents } from './helpers.js';

const NEW_KEY = `k2:${'n'.repeat(40)}`;
const OLD_KEY = `k1:${'o'.repeat(40)}`;
const RETIRED_KEY = `k0:${'r'.repeat(40)}`;
const keys = parseLinkKeys(`${NEW_KEY},${OLD_KEY}`);
const { db, namespace } = isolation();
const subject = subjects(namespace).deliveryEvent('feedback');
const logger = createLogger('feedback-link-test', 'silent');
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let mongo: MongoHandle;
let nats: NatsHandle;
let app: BuiltApp;

async function build(ns: string): Promise<BuiltApp> {
  const { natsUrl, mongoUri } = serverUrls();
  const config = loadConfig(
    { ...baseConfigShape, ...configShape },
    {
      MONGODB_URI: mongoUri,
      MONGODB_DB: db,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: ns,
      LOG_LEVEL: 'silent',
      LINK_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}`,
    },
  );
  return buildApp({ config, logger, mongo, nats });
}

/** A fresh delivery and its ack link (long IDs, as real ones may be). */
function link(options: { signWith?: readonly LinkKey[]; expiresIn?: number } = {}) {
  const deliveryId = `d_${randomBytes(24).toString('base64url')}`;
  const communicationId = `c_${randomBytes(24).toString('base64url')}`;
  const token = signLink(
    {
      deliveryId,
      communicationId,
      action: 'ack',
      expiresAt: Math.floor(Date.now() / 1000) + (options.expiresIn ?? 86_400),
    },
    options.signWith ?? keys,
  );
  return { deliveryId, communicationId, token, url: `/a/${token}` };
}

const feedback = () => mongo.db.collection<{ _id: string }>('feedback');

async function nothingRecorded(deliveryId: string, messagesBefore: number): Promise<void> {
  expect(await feedback().countDocuments({ _id: `${deliveryId}:ack` })).toBe(0);
  expect(await messageCount(nats.jsm, namespace, subject)).toBe(messagesBefore);
}

function expectPageHeaders(res: { headers: Record<string, unknown> }): void {
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-robots-tag']).toBe('noindex');
}

beforeAll(async () => {
  const { natsUrl, mongoUri } = serverUrls();
  mongo = await connectMongo({ uri: mongoUri, dbName: db, logger, appName: 'test' });
  nats = await connectNats({ servers: natsUrl, name: 'test', logger });
  const t = topology(namespace);
  await ensureTopology(nats.jsm, t.streams, t.consumers);
  await migrate(mongo);
  app = await build(namespace);
});

afterAll(async () => {
  await app?.http.close();
  for (const name of Object.values(streamNames(namespace))) await nats?.jsm.streams.delete(name).catch(() => false);
  await mongo?.db.dropDatabase().catch(() => undefined);
  await nats?.drain();
  await mongo?.close();
});

describe('GET /a/<token>', () => {
  it('shows the acknowledge page and changes nothing', async () => {
    const l = link();
    expect(l.token.length).toBeGreaterThan(100);
    const before = await messageCount(nats.jsm, namespace, subject);
    const res = await app.http.inject({ method: 'GET', url: l.url });
    expect(res.statusCode).toBe(200);
    expectPageHeaders(res);
    expect(res.body).toContain('<title>Acknowledge this message</title>');
    expect(res.body).toContain('<meta name="robots" content="noindex">');
    expect(res.body).toMatch(/<form method="post"><button type="submit">Acknowledge<\/button><\/form>/);
    await nothingRecorded(l.deliveryId, before);
  });

  it('changes nothing on HEAD either', async () => {
    const l = link();
    const before = await messageCount(nats.jsm, namespace, subject);
    const res = await app.http.inject({ method: 'HEAD', url: l.url, headers: { 'user-agent': 'SafeLinks scanner' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expectPageHeaders(res);
    await nothingRecorded(l.deliveryId, before);
  });

  it('answers unknown addresses with an HTML 404', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/nothing-here' });
    expect(res.statusCode).toBe(404);
    expectPageHeaders(res);
    expect(res.body).toContain('<h1>Page not found</h1>');
  });
});

describe('POST /a/<token>', () => {
  it('records once and publishes once, even when posted twice (form body, then empty body)', async () => {
    const l = link();
    const before = await messageCount(nats.jsm, namespace, subject);
    const first = await app.http.inject({ method: 'POST', url: l.url, headers: FORM, payload: '' });
    expect(first.statusCode).toBe(200);
    expectPageHeaders(first);
    expect(first.body).toContain('Thank you — your acknowledgement has been recorded.');

    const doc = (await feedback().findOne({ _id: `${l.deliveryId}:ack` })) as unknown as Record<string, unknown>;
    expect(doc).toMatchObject({ deliveryId: l.deliveryId, communicationId: l.communicationId, action: 'ack' });
    const recordedAt = doc['recordedAt'] as Date;

    const second = await app.http.inject({ method: 'POST', url: l.url });
    expect(second.statusCode).toBe(200);
    expect(second.body).toContain('Thank you — your acknowledgement has been recorded.');
    expect(second.body).toContain(`datetime="${recordedAt.toISOString()}"`);

    expect(await feedback().countDocuments({ _id: `${l.deliveryId}:ack` })).toBe(1);
    expect(await messageCount(nats.jsm, namespace, subject)).toBe(before + 1);
    const events = (await storedEvents(nats.jsm, namespace, subject)).filter(
      (e) => e.event.deliveryId === l.deliveryId,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.msgId).toBe(`feedback:${l.deliveryId}:ack`);
    expect(events[0]!.event).toMatchObject({
      eventId: `feedback:${l.deliveryId}:ack`,
      communicationId: l.communicationId,
      attempt: 0,
      status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
      source: EventSource.EVENT_SOURCE_FEEDBACK,
      occurredAt: recordedAt,
      receivedAt: recordedAt,
      response: 'Acknowledged',
    });

    const page = await app.http.inject({ method: 'GET', url: l.url });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('You acknowledged this message on');
    expect(page.body).not.toContain('<form');
  });

  it('notes the class of browser, never the user agent itself', async () => {
    const l = link();
    const ua = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
    await app.http.inject({ method: 'POST', url: l.url, headers: { ...FORM, 'user-agent': ua }, payload: 'x=1' });
    const doc = await feedback().findOne({ _id: `${l.deliveryId}:ack` });
    expect(doc).toMatchObject({ userAgentClass: 'mobile' });
    expect(JSON.stringify(doc)).not.toContain('iPhone');
  });

  it('still accepts links signed with an older key that is still configured', async () => {
    const l = link({ signWith: parseLinkKeys(OLD_KEY) });
    const res = await app.http.inject({ method: 'POST', url: l.url });
    expect(res.statusCode).toBe(200);
    expect(await feedback().countDocuments({ _id: `${l.deliveryId}:ack` })).toBe(1);
  });

  it('answers 503 "Please try again" when publishing fails, keeps the record, and publishes on retry', async () => {
    const missing = `${namespace}x`;
    const broken = await build(missing);
    const l = link();
    try {
      const res = await broken.http.inject({ method: 'POST', url: l.url, headers: FORM, payload: '' });
      expect(res.statusCode).toBe(503);
      expectPageHeaders(res);
      expect(res.body).toContain('<h1>Please try again</h1>');
      expect(res.body).toContain('<button type="submit">Try again</button>');
      const doc = (await feedback().findOne({ _id: `${l.deliveryId}:ack` })) as unknown as { recordedAt: Date };
      expect(doc).not.toBeNull();

      const t = topology(missing);
      await ensureTopology(nats.jsm, t.streams, t.consumers);
      const retry = await broken.http.inject({ method: 'POST', url: l.url, headers: FORM, payload: '' });
      expect(retry.statusCode).toBe(200);
      const events = await eventually(async () => {
        const found = await storedEvents(nats.jsm, missing, subjects(missing).deliveryEvent('feedback'));
        expect(found).toHaveLength(1);
        return found;
      });
      expect(events[0]!.event.occurredAt).toEqual(doc.recordedAt);
    } finally {
      await broken.http.close();
      for (const name of Object.values(streamNames(missing))) await nats.jsm.streams.delete(name).catch(() => false);
    }
  });
});

describe('refused links record nothing', () => {
  const tamper = (token: string) => {
    const parts = token.split('.');
    const sig = parts[3]!;
    parts[3] = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    return parts.join('.');
  };
  const swapPayload = (token: string) => {
    const other = link().token.split('.');
    const parts = token.split('.');
    parts[2] = other[2]!;
    return parts.join('.');
  };
  const cases: [string, number, string, (l: ReturnType<typeof link>) => string][] = [
    ['a tampered signature', 403, 'This link cannot be used', (l) => tamper(l.token)],
    ['a payload swapped from another link', 403, 'This link cannot be used', (l) => swapPayload(l.token)],
    [
      'a key rotated out of LINK_SIGNING_KEYS',
      403,
      'This link cannot be used',
      (l) =>
        signLink(
          { deliveryId: l.deliveryId, communicationId: l.communicationId, action: 'ack', expiresAt: 4_000_000_000 },
          parseLinkKeys(RETIRED_KEY),
        ),
    ],
    [
      'an expired link',
      410,
      'This link has expired',
      (l) =>
        signLink(
          { deliveryId: l.deliveryId, communicationId: l.communicationId, action: 'ack', expiresAt: 1_000_000 },
          keys,
        ),
    ],
    ['a truncated link', 400, 'This link is incomplete', (l) => l.token.split('.').slice(0, 3).join('.')],
    ['garbage', 400, 'This link is incomplete', () => 'not-a-token'],
    ['an absurdly long link', 400, 'This link is incomplete', () => 'v1.'.repeat(2_000)],
  ];

  it.each(cases)('%s → %i on GET, HEAD and POST', async (_name, status, heading, make) => {
    const l = link();
    const url = `/a/${make(l)}`;
    const before = await messageCount(nats.jsm, namespace, subject);
    for (const method of ['GET', 'HEAD', 'POST'] as const) {
      const res = await app.http.inject({ method, url, ...(method === 'POST' ? { headers: FORM, payload: '' } : {}) });
      expect(res.statusCode, method).toBe(status);
      expectPageHeaders(res);
      if (method !== 'HEAD') {
        expect(res.body).toContain(`<h1>${heading}</h1>`);
        expect(res.body).toContain('Nothing has been recorded.');
      }
    }
    await nothingRecorded(l.deliveryId, before);
  });

  it('escapes nothing it should not: a token with markup is refused and never echoed', async () => {
    const res = await app.http.inject({ method: 'GET', url: `/a/${encodeURIComponent('<script>alert(1)</script>')}` });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<script>');
  });
});

describe('operations', () => {
  it('is ready when MongoDB and NATS answer', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ checks: { mongodb: 'ok', nats: 'ok' } });
  });
});
