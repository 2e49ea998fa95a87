import { randomBytes } from 'node:crypto';
import {
  DeliveryStatus,
  EventSource,
  LinkContent,
  ShortLinkIssued,
  streamNames,
  subjects,
  systemTopology,
} from '@dlr/contracts';
import { parseLinkKeys, shortCode, signLink, type LinkAction, type LinkChannel, type LinkKey } from '@dlr/links';
import {
  baseConfigShape,
  connectMongo,
  connectNats,
  createLogger,
  ensureTopology,
  loadConfig,
  publishDurable,
  type BuiltApp,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { present } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';
import { ANSWERS_PER_LINK_PER_MINUTE } from '../src/adapters/http/link-routes.js';
import { eventually, isolation, messageCount, serverUrls, storedEvents } from './helpers.js';

const NEW_KEY = `k2:${'n'.repeat(40)}`;
const OLD_KEY = `k1:${'o'.repeat(40)}`;
const RETIRED_KEY = `k0:${'r'.repeat(40)}`;
const keys = parseLinkKeys(`${NEW_KEY},${OLD_KEY}`);
const { db, namespace } = isolation();
const subject = subjects(namespace).deliveryEventsFrom('feedback');
const logger = createLogger('feedback-link-test', 'silent');
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
const SCANNER = 'Mozilla/5.0 (compatible; SafeLinks scanner)';

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
      LINK_BOT_WINDOW_SECONDS: '5',
    },
  );
  return buildApp({ config, logger, mongo, nats });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A fresh delivery (long IDs, as real ones may be) and a way to sign its links. */
function delivery(channel: LinkChannel = 'email') {
  const deliveryId = `d_${randomBytes(24).toString('base64url')}`;
  const communicationId = `c_${randomBytes(24).toString('base64url')}`;
  const token = (
    action: LinkAction,
    o: { signWith?: readonly LinkKey[]; expiresAt?: number; issuedAt?: number; deliveryId?: string } = {},
  ) =>
    signLink(
      {
        deliveryId: o.deliveryId ?? deliveryId,
        communicationId,
        channel,
        action,
        // Minted a minute ago: outside the bot window unless a test says otherwise.
        issuedAt: o.issuedAt ?? nowSeconds() - 60,
        expiresAt: o.expiresAt ?? nowSeconds() + 86_400,
      },
      o.signWith ?? keys,
    );
  return { deliveryId, communicationId, token };
}

async function publishContent(communicationId: string, overrides: Partial<LinkContent> = {}): Promise<void> {
  const message = LinkContent.fromPartial({
    communicationId,
    title: 'Flood warning',
    emailBody: 'The river is rising. Move to higher ground.',
    smsText: 'Flood: move to higher ground.',
    responseOptions: ['Safe', 'Need help'],
    publishedAt: new Date(),
    ...overrides,
  });
  await publishDurable(
    nats.js,
    subjects(namespace).linkContent(communicationId),
    LinkContent.encode(message).finish(),
    `link-content:${communicationId}:${randomBytes(4).toString('hex')}`,
  );
}

const feedback = () => mongo.db.collection<{ _id: string } & Record<string, unknown>>('feedback');

/** The answer document once the consumer of committed answers has stored it. */
const stored = (id: string) => eventually(async () => present(await feedback().findOne({ _id: id }), id));

async function eventsOf(deliveryId: string) {
  return (await storedEvents(nats.jsm, namespace, subject)).filter((e) => e.event.deliveryId === deliveryId);
}

async function nothingRecorded(deliveryId: string, messagesBefore: number): Promise<void> {
  const answers = await feedback()
    .find({ deliveryId, action: { $exists: true } })
    .toArray();
  expect(answers).toEqual([]);
  expect(await messageCount(nats.jsm, namespace, subject)).toBe(messagesBefore);
}

function expectPageHeaders(res: { headers: Record<string, unknown> }, type = 'text/html; charset=utf-8'): void {
  expect(res.headers['content-type']).toBe(type);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-robots-tag']).toBe('noindex');
}

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

describe('prefetch', () => {
  it('GET and HEAD of every link (by a person or a scanner) change nothing', async () => {
    const d = delivery();
    await publishContent(d.communicationId);
    const code = shortCode(d.deliveryId, 'ack', keys);
    await publishDurable(
      nats.js,
      subjects(namespace).shortLinkIssued(code),
      ShortLinkIssued.encode(
        ShortLinkIssued.fromPartial({ code, token: d.token('ack'), deliveryId: d.deliveryId, issuedAt: new Date() }),
      ).finish(),
      `short-link:${code}`,
    );
    const before = await messageCount(nats.jsm, namespace, subject);
    const urls = [`/a/${d.token('ack')}`, `/a/${d.token('respond')}`, `/u/${d.token('optout')}`, `/s/${code}`];
    for (const url of urls) {
      for (const [method, ua] of [
        ['GET', PHONE],
        ['HEAD', PHONE],
        ['GET', SCANNER],
        ['HEAD', SCANNER],
      ] as const) {
        const res = await app.http.inject({ method, url, headers: { 'user-agent': ua } });
        expect(res.statusCode, `${method} ${url}`).toBe(200);
        expectPageHeaders(res);
      }
    }
    // The pixel: HEAD, and a scanner's GET, are suspected bots, never an open.
    for (const [method, ua] of [
      ['HEAD', PHONE],
      ['GET', SCANNER],
    ] as const) {
      const res = await app.http.inject({ method, url: `/o/${d.token('read')}`, headers: { 'user-agent': ua } });
      expect(res.statusCode).toBe(200);
      expectPageHeaders(res, 'image/gif');
    }
    await nothingRecorded(d.deliveryId, before);
    expect(await feedback().findOne({ _id: `${d.deliveryId}:suspected` })).toMatchObject({ hits: 2 });
  });
});

describe('acknowledge', () => {
  it('shows the message and a button; a POST records once and publishes once', async () => {
    const d = delivery();
    await publishContent(d.communicationId);
    const url = `/a/${d.token('ack')}`;
    const page = await app.http.inject({ method: 'GET', url });
    expect(page.body).toContain('<title>Acknowledge this message</title>');
    expect(page.body).toContain('The river is rising. Move to higher ground.');
    expect(page.body).toContain('<form method="post"><button type="submit">Acknowledge</button></form>');

    const first = await app.http.inject({
      method: 'POST',
      url,
      headers: { ...FORM, 'user-agent': PHONE },
      payload: '',
    });
    expect(first.statusCode).toBe(200);
    expectPageHeaders(first);
    expect(first.body).toContain('Thank you — your acknowledgement has been recorded.');
    // The page confirmed after the commit; the store is fed from the stream right after.
    const doc = await stored(`${d.deliveryId}:ack`);
    expect(doc).toMatchObject({ action: 'ack', userAgentClass: 'mobile' });
    expect(JSON.stringify(doc)).not.toContain('iPhone');

    const second = await app.http.inject({ method: 'POST', url });
    expect(second.statusCode).toBe(200);
    expect(second.body).toContain(`datetime="${(doc['recordedAt'] as Date).toISOString()}"`);
    const events = await eventsOf(d.deliveryId);
    expect(events).toHaveLength(1);
    expect(events[0]!.msgId).toBe(`feedback:${d.deliveryId}:ack`);
    expect(events[0]!.event).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
      source: EventSource.EVENT_SOURCE_FEEDBACK,
      attempt: 0,
      response: 'Acknowledged',
      occurredAt: doc['recordedAt'],
    });

    const again = await app.http.inject({ method: 'GET', url });
    expect(again.body).toContain('You acknowledged this message on');
    expect(again.body).not.toContain('<form');
  });

  it('treats a POST seconds after the send, or by a scanner, as a suspected bot: nothing ranked, asks to confirm', async () => {
    const d = delivery();
    const before = await messageCount(nats.jsm, namespace, subject);
    const fresh = await app.http.inject({
      method: 'POST',
      url: `/a/${d.token('ack', { issuedAt: nowSeconds() })}`,
      headers: { ...FORM, 'user-agent': PHONE },
      payload: '',
    });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.body).toContain('<h1>Please confirm</h1>');
    const scanner = await app.http.inject({
      method: 'POST',
      url: `/a/${d.token('ack')}`,
      headers: { ...FORM, 'user-agent': SCANNER },
      payload: '',
    });
    expect(scanner.body).toContain('<h1>Please confirm</h1>');
    await nothingRecorded(d.deliveryId, before);
    expect(await feedback().findOne({ _id: `${d.deliveryId}:suspected` })).toMatchObject({ hits: 2 });
  });

  it('never confirms an answer it could not commit: NATS down → "NOT recorded", nothing stored; the retry records it', async () => {
    const missing = `${namespace}x`;
    const broken = await build(missing);
    const d = delivery();
    const url = `/a/${d.token('ack')}`;
    try {
      // No stream for this namespace: JetStream cannot commit (as when NATS is down).
      const res = await broken.http.inject({ method: 'POST', url, headers: FORM, payload: '' });
      expect(res.statusCode).toBe(503);
      expectPageHeaders(res);
      expect(res.body).toContain('<h1>Please try again</h1>');
      expect(res.body).toContain('Your answer has NOT been recorded');
      expect(res.body).not.toContain('Thank you');
      expect(await feedback().findOne({ _id: `${d.deliveryId}:ack` })).toBeNull();
      const page = await broken.http.inject({ method: 'GET', url });
      expect(page.body).not.toContain('You acknowledged');

      const t = systemTopology(missing);
      await ensureTopology(nats.jsm, t.streams, t.consumers);
      await broken.start?.();
      const retry = await broken.http.inject({ method: 'POST', url, headers: FORM, payload: '' });
      expect(retry.statusCode).toBe(200);
      expect(retry.body).toContain('Thank you — your acknowledgement has been recorded.');
      const events = await storedEvents(nats.jsm, missing, subjects(missing).deliveryEventsFrom('feedback'));
      expect(events).toHaveLength(1);
      const doc = (await stored(`${d.deliveryId}:ack`)) as unknown as { recordedAt: Date };
      expect(events[0]!.event.occurredAt).toEqual(doc.recordedAt);
    } finally {
      await broken.stopConsuming?.();
      await broken.http.close();
      for (const name of Object.values(streamNames(missing))) await nats.jsm.streams.delete(name).catch(() => false);
    }
  });
});

describe('respond', () => {
  it('offers the options, records each response, shows the latest and keeps every one', async () => {
    const d = delivery();
    await publishContent(d.communicationId);
    const url = `/a/${d.token('respond')}`;
    const page = await app.http.inject({ method: 'GET', url });
    expect(page.body).toContain('<button type="submit" name="option" value="1">Need help</button>');

    const bad = await app.http.inject({ method: 'POST', url, headers: FORM, payload: 'option=7' });
    expect(bad.statusCode).toBe(400);

    const first = await app.http.inject({ method: 'POST', url, headers: FORM, payload: 'option=1' });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('your response “Need help” has been recorded');
    const second = await app.http.inject({ method: 'POST', url, headers: FORM, payload: 'option=0' });
    expect(second.body).toContain('your response “Safe” has been recorded');

    const shown = await eventually(async () => {
      const res = await app.http.inject({ method: 'GET', url });
      expect(res.body).toContain('<h1>Your response: Safe</h1>');
      return res;
    });
    expect(shown.body).toContain('<legend>Change your response</legend>');

    const kept = await eventually(async () => {
      const found = await feedback().find({ deliveryId: d.deliveryId, action: 'respond' }).toArray();
      expect(found).toHaveLength(2);
      return found;
    });
    expect(kept.map((r) => r['response']).sort()).toEqual(['Need help', 'Safe']);
    const events = await eventsOf(d.deliveryId);
    expect(events.map((e) => [e.event.status, e.event.response])).toEqual([
      [DeliveryStatus.DELIVERY_STATUS_RESPONDED, 'Need help'],
      [DeliveryStatus.DELIVERY_STATUS_RESPONDED, 'Safe'],
    ]);
    expect(events[1]!.event.occurredAt!.getTime()).toBeGreaterThan(events[0]!.event.occurredAt!.getTime());
  });

  it.each([
    ['no option', ''],
    ['an empty option', 'option='],
    ['an option that is not a number', 'option=Safe'],
    ['a padded number', 'option=%201'],
    ['a negative zero', 'option=-0'],
    ['a hex number', 'option=0x1'],
    ['an exponent', 'option=1e0'],
    ['a fraction', 'option=0.0'],
    ['one past the last option', 'option=2'],
  ])('refuses a response with %s: 400, a page saying what to do, nothing recorded', async (_name, payload) => {
    const d = delivery();
    await publishContent(d.communicationId);
    const res = await app.http.inject({ method: 'POST', url: `/a/${d.token('respond')}`, headers: FORM, payload });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('<h1>Please choose a response</h1>');
    expect(res.body).toContain('Nothing has been recorded.');
    expect(await feedback().countDocuments({ deliveryId: d.deliveryId })).toBe(0);
    expect(await eventsOf(d.deliveryId)).toEqual([]);
  });

  it('renders script in the communication’s text inert', async () => {
    const d = delivery('sms');
    await publishContent(d.communicationId, {
      title: '<script>alert("t")</script>',
      smsText: '<script>alert("x")</script><img src=x onerror=alert(1)>',
      responseOptions: ['<b>Safe</b>'],
    });
    const res = await app.http.inject({ method: 'GET', url: `/a/${d.token('respond')}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(/<script|<img|<b>/i);
    expect(res.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });
});

describe('answers per link', () => {
  it('takes at most ANSWERS_PER_LINK_PER_MINUTE answers of one link a minute (429 after), other links unaffected', async () => {
    const d = delivery();
    await publishContent(d.communicationId);
    const url = `/a/${d.token('respond')}`;
    const codes: number[] = [];
    for (let i = 0; i < ANSWERS_PER_LINK_PER_MINUTE + 2; i += 1) {
      codes.push(
        (await app.http.inject({ method: 'POST', url, headers: FORM, payload: `option=${i % 2}` })).statusCode,
      );
    }
    expect(codes.slice(0, ANSWERS_PER_LINK_PER_MINUTE).every((c) => c === 200)).toBe(true);
    expect(codes.slice(ANSWERS_PER_LINK_PER_MINUTE)).toEqual([429, 429]);
    const refused = await app.http.inject({ method: 'POST', url, headers: FORM, payload: 'option=0' });
    expectPageHeaders(refused);
    // The record grew by the answers taken, not by the refused ones.
    const kept = await eventually(async () => {
      const found = await feedback().find({ deliveryId: d.deliveryId, action: 'respond' }).toArray();
      expect(found).toHaveLength(ANSWERS_PER_LINK_PER_MINUTE);
      return found;
    });
    expect(kept).toHaveLength(ANSWERS_PER_LINK_PER_MINUTE);
    const other = delivery();
    await publishContent(other.communicationId);
    const elsewhere = await app.http.inject({
      method: 'POST',
      url: `/a/${other.token('respond')}`,
      headers: FORM,
      payload: 'option=0',
    });
    expect(elsewhere.statusCode).toBe(200);
  });
});

describe('SMS short links', () => {
  it('resolve a code to its token at once (from the stream), then from the own collection', async () => {
    const d = delivery('sms');
    await publishContent(d.communicationId);
    const code = shortCode(d.deliveryId, 'respond', keys);
    await publishDurable(
      nats.js,
      subjects(namespace).shortLinkIssued(code),
      ShortLinkIssued.encode(
        ShortLinkIssued.fromPartial({
          code,
          token: d.token('respond'),
          deliveryId: d.deliveryId,
          communicationId: d.communicationId,
          issuedAt: new Date(),
        }),
      ).finish(),
      `short-link:${code}`,
    );
    const page = await app.http.inject({ method: 'GET', url: `/s/${code}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Flood: move to higher ground.');
    await eventually(async () =>
      expect(await mongo.db.collection('short_links').findOne({ _id: code as never })).not.toBeNull(),
    );
    const posted = await app.http.inject({ method: 'POST', url: `/s/${code}`, headers: FORM, payload: 'option=0' });
    expect(posted.body).toContain('your response “Safe” has been recorded');
  });

  it('refuses an unknown code with 404 and a malformed one with 400', async () => {
    const unknown = await app.http.inject({ method: 'GET', url: '/s/AbC123xYz9' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('<h1>This link is not known</h1>');
    expect((await app.http.inject({ method: 'GET', url: '/s/short' })).statusCode).toBe(400);
  });
});

describe('opt-out', () => {
  it('records an RFC 8058 one-click POST with 200 and no redirect', async () => {
    const d = delivery();
    const res = await app.http.inject({
      method: 'POST',
      url: `/u/${d.token('optout')}`,
      headers: { ...FORM, 'user-agent': SCANNER },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['location']).toBeUndefined();
    const events = await eventsOf(d.deliveryId);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toMatchObject({
      eventId: `feedback:${d.deliveryId}:optout`,
      status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT,
      providerEventType: 'one-click',
    });
    await eventually(async () => {
      const page = await app.http.inject({ method: 'GET', url: `/u/${d.token('optout')}` });
      expect(page.body).toContain('<h1>You have opted out</h1>');
    });
  });

  it('records from the page button too (multipart one-click as well)', async () => {
    const d = delivery();
    const page = await app.http.inject({ method: 'POST', url: `/u/${d.token('optout')}`, headers: FORM, payload: '' });
    expect(page.body).toContain('<h1>You have opted out.</h1>');
    const m = delivery();
    const boundary = 'xyz';
    const multipart = await app.http.inject({
      method: 'POST',
      url: `/u/${m.token('optout')}`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
    });
    expect(multipart.statusCode).toBe(200);
    expect(await eventsOf(m.deliveryId)).toHaveLength(1);
  });
});

describe('open pixel', () => {
  it('records Read once for a person, and returns a 1×1 GIF', async () => {
    const d = delivery();
    const url = `/o/${d.token('read')}`;
    const res = await app.http.inject({ method: 'GET', url, headers: { 'user-agent': PHONE } });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    await app.http.inject({ method: 'GET', url, headers: { 'user-agent': PHONE } });
    const events = await eventsOf(d.deliveryId);
    expect(events.map((e) => e.event.status)).toEqual([DeliveryStatus.DELIVERY_STATUS_READ]);
  });
});

describe('refused links record nothing', () => {
  const tamper = (token: string) => {
    const parts = token.split('.');
    const sig = parts[3]!;
    parts[3] = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    return parts.join('.');
  };
  type D = ReturnType<typeof delivery>;
  const cases: [string, number, string, string, (d: D) => string][] = [
    ['a tampered signature', 403, 'This link cannot be used', 'a', (d) => tamper(d.token('ack'))],
    [
      'a payload swapped from another link',
      403,
      'This link cannot be used',
      'a',
      (d) => {
        const parts = d.token('ack').split('.');
        parts[2] = delivery().token('ack').split('.')[2]!;
        return parts.join('.');
      },
    ],
    ['an acknowledge token used to opt out', 403, 'This link cannot be used', 'u', (d) => d.token('ack')],
    ['an opt-out token used to acknowledge', 403, 'This link cannot be used', 'a', (d) => d.token('optout')],
    [
      'a key rotated out of LINK_SIGNING_KEYS',
      403,
      'This link cannot be used',
      'a',
      (d) => d.token('ack', { signWith: parseLinkKeys(RETIRED_KEY) }),
    ],
    ['an expired link', 410, 'This link has expired', 'a', (d) => d.token('ack', { expiresAt: 1_000_000 })],
    ['an expired opt-out link', 410, 'This link has expired', 'u', (d) => d.token('optout', { expiresAt: 1_000_000 })],
    ['a truncated link', 400, 'This link is incomplete', 'a', (d) => d.token('ack').split('.').slice(0, 3).join('.')],
    ['garbage', 400, 'This link is incomplete', 'a', () => 'not-a-token'],
    ['an absurdly long link', 400, 'This link is incomplete', 'a', () => 'v1.'.repeat(2_000)],
  ];

  it.each(cases)('%s → %i on GET, HEAD and POST', async (_name, status, heading, path, make) => {
    const d = delivery();
    const url = `/${path}/${make(d)}`;
    const before = await messageCount(nats.jsm, namespace, subject);
    for (const method of ['GET', 'HEAD', 'POST'] as const) {
      const res = await app.http.inject({
        method,
        url,
        ...(method === 'POST' ? { headers: FORM, payload: 'List-Unsubscribe=One-Click' } : {}),
      });
      expect(res.statusCode, method).toBe(status);
      expectPageHeaders(res);
      if (method !== 'HEAD') {
        expect(res.body).toContain(`<h1>${heading}</h1>`);
        expect(res.body).toContain('Nothing has been recorded.');
      }
    }
    await nothingRecorded(d.deliveryId, before);
  });

  it('still accepts links signed with an older key that is still configured (rotated in)', async () => {
    const d = delivery();
    const res = await app.http.inject({
      method: 'POST',
      url: `/a/${d.token('ack', { signWith: parseLinkKeys(OLD_KEY) })}`,
    });
    expect(res.statusCode).toBe(200);
    await stored(`${d.deliveryId}:ack`);
  });

  it('never echoes a token with markup', async () => {
    const res = await app.http.inject({ method: 'GET', url: `/a/${encodeURIComponent('<script>alert(1)</script>')}` });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<script>');
  });

  it('answers unknown addresses with an HTML 404', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/nothing-here' });
    expect(res.statusCode).toBe(404);
    expectPageHeaders(res);
    expect(res.body).toContain('<h1>Page not found</h1>');
  });
});
