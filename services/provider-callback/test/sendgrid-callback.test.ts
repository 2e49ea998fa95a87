import { generateKeyPairSync, sign } from 'node:crypto';
import { Channel, DeliveryStatus } from '@dlr/contracts';
import eventwebhook from '@sendgrid/eventwebhook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers.js';
import { expectNothingStored, rid, startHarness, type Harness } from './harness.js';

// A test key pair of the kind SendGrid signs with (ECDSA P-256); the public key as SendGrid shows it.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_B64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const { EventWebhook } = eventwebhook;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ SENDGRID_WEBHOOK_PUBLIC_KEY: PUBLIC_B64, CALLBACK_BODY_LIMIT_BYTES: '16384' });
});
afterAll(async () => h?.close());

function signBody(body: string, timestamp = String(Math.floor(Date.now() / 1000)), key = privateKey) {
  return {
    timestamp,
    signature: sign('sha256', Buffer.from(timestamp + body), { key, dsaEncoding: 'der' }).toString('base64'),
  };
}

function post(body: string, sig = signBody(body)) {
  return h.app.http.inject({
    method: 'POST',
    url: '/v1/callbacks/sendgrid',
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': sig.signature,
      'x-twilio-email-event-webhook-timestamp': sig.timestamp,
    },
    payload: body,
  });
}

/** One message's events as in SendGrid's Event Webhook reference, with our custom args. */
function batch(custom: Record<string, string> | undefined) {
  const msg = `${rid()}${rid()}`;
  const base = {
    email: 'example@test.com',
    timestamp: 1_513_299_569,
    'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>',
    category: 'cat facts',
    sg_message_id: `${msg}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0`,
    ...custom,
  };
  const e = (event: string, extra: Record<string, unknown> = {}) => ({
    ...base,
    event,
    sg_event_id: `${event}-${rid()}`,
    ...extra,
  });
  return {
    msg,
    events: [
      e('processed'),
      e('deferred', { response: '400 try again later', attempt: '5' }),
      e('delivered', { response: '250 OK' }),
      e('open', { useragent: 'Mozilla/4.0', ip: '255.255.255.255' }),
      e('click', { url: 'http://www.sendgrid.com/' }),
      e('bounce', { reason: '500 unknown recipient', status: '5.0.0', type: 'bounce' }),
      e('bounce', { reason: '550 blocked', status: '5.0.0', type: 'blocked' }),
      e('dropped', { reason: 'Bounced Address', status: '5.0.0' }),
      e('spamreport'),
      e('unsubscribe'),
      e('group_unsubscribe', { asm_group_id: 10 }),
      e('group_resubscribe', { asm_group_id: 10 }),
    ],
  };
}

const ours = (id: string) => ({ delivery_id: `d_${id}`, communication_id: 'c_sg', attempt: '1' });

describe('POST /v1/callbacks/sendgrid', () => {
  it('accepts what @sendgrid/eventwebhook accepts, stores each event and publishes the mapped ones', async () => {
    const id = rid();
    const { msg, events } = batch(ours(id));
    // The deferred event's own `attempt` (SendGrid's tries) shadows our custom arg: it is matched
    // by its message ID, which dispatch reported when it sent.
    await h.dispatchSent({
      provider: 'sendgrid',
      providerMessageId: msg,
      deliveryId: `d_${id}`,
      communicationId: 'c_sg',
    });
    await h.knows(`sendgrid:${msg}`);
    const body = JSON.stringify(events);
    const sig = signBody(body);
    const ew = new EventWebhook();
    const key = ew.convertPublicKeyToECDSA(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    expect(ew.verifySignature(key, body, sig.signature, sig.timestamp)).toBe(true);

    const res = await post(body, sig);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'accepted' });
    await h.settled();
    const expected: [string, DeliveryStatus, string][] = [
      ['processed', DeliveryStatus.DELIVERY_STATUS_SENT, ''],
      ['deferred', DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY, 'temporary_bounce'],
      ['delivered', DeliveryStatus.DELIVERY_STATUS_DELIVERED, ''],
      ['open', DeliveryStatus.DELIVERY_STATUS_READ, ''],
      ['bounce', DeliveryStatus.DELIVERY_STATUS_FAILED, 'permanent_bounce'],
      ['bounce', DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY, 'temporary_bounce'],
      ['dropped', DeliveryStatus.DELIVERY_STATUS_NOT_SENT, 'suppressed'],
      ['spamreport', DeliveryStatus.DELIVERY_STATUS_FAILED, 'complaint'],
      ['unsubscribe', DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, 'unsubscribed'],
      ['group_unsubscribe', DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, 'unsubscribed'],
    ];
    const mapped = events.filter((e) => e.event !== 'click' && e.event !== 'group_resubscribe');
    for (const [i, e] of mapped.entries()) {
      const [stored] = await h.events(`provider:sendgrid:${e.sg_event_id}`);
      const [type, status, reasonCode] = expected[i]!;
      expect(stored?.event, e.sg_event_id).toMatchObject({
        deliveryId: `d_${id}`,
        communicationId: 'c_sg',
        attempt: 1,
        channel: Channel.CHANNEL_EMAIL,
        provider: 'sendgrid',
        providerEventType: type,
        status,
        reasonCode,
        occurredAt: new Date(1_513_299_569_000),
      });
    }
    for (const e of events)
      expect(await h.raw(`sendgrid:${e.sg_event_id}`), e.event).toMatchObject({ body: JSON.stringify(e) });
  });

  it('publishes repeats once, across posts and within one batch', async () => {
    const { events } = batch(ours(rid()));
    const three = [events[0]!, events[2]!, events[2]!];
    const before = await h.published();
    expect((await post(JSON.stringify(three))).statusCode).toBe(202);
    await h.settled();
    expect((await post(JSON.stringify(three))).statusCode).toBe(202);
    await h.settled();
    expect(await h.published()).toBe(before + 2);
  });

  it('parks events without custom args and releases them when dispatch reports the X-Message-Id', async () => {
    const { msg, events } = batch(undefined);
    const two = [events[0]!, events[2]!];
    const res = await post(JSON.stringify(two));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'accepted' });
    await h.settled();
    expect(await h.events(`provider:sendgrid:${two[1]!.sg_event_id}`)).toHaveLength(0);
    await h.dispatchSent({ provider: 'sendgrid', providerMessageId: msg, deliveryId: 'd_parkedsg' });
    await eventually(async () => {
      for (const e of two) expect(await h.events(`provider:sendgrid:${e.sg_event_id}`)).toHaveLength(1);
    });
    const [delivered] = await h.events(`provider:sendgrid:${two[1]!.sg_event_id}`);
    expect(delivered?.event).toMatchObject({
      deliveryId: 'd_parkedsg',
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
    });
  });

  describe('refuses without storing or publishing anything', () => {
    const body = () => JSON.stringify(batch(ours(rid())).events.slice(0, 3));
    const now = () => Math.floor(Date.now() / 1000);
    it.each<[string, number, () => ReturnType<typeof post>]>([
      [
        'a signature by another key',
        401,
        () => {
          const b = body();
          return post(b, signBody(b, undefined, other.privateKey));
        },
      ],
      [
        'a body changed after signing',
        401,
        () => {
          const b = body();
          return post(b.replace('cat facts', 'dog facts'), signBody(b));
        },
      ],
      [
        'a timestamp changed after signing',
        401,
        () => {
          const b = body();
          const s = signBody(b);
          return post(b, { ...s, timestamp: String(Number(s.timestamp) + 1) });
        },
      ],
      [
        'a stale timestamp',
        401,
        () => {
          const b = body();
          return post(b, signBody(b, String(now() - 301)));
        },
      ],
      ['no signature', 401, () => post(body(), { signature: '', timestamp: String(now()) })],
      ['an object instead of an array', 400, () => post(JSON.stringify({ event: 'processed' }))],
      ['an element without event', 400, () => post(JSON.stringify([{ sg_event_id: 'x1', timestamp: 1 }]))],
      [
        'an element with a bad attempt',
        400,
        () => post(JSON.stringify(batch({ ...ours('z'), attempt: '-1' }).events.slice(0, 2))),
      ],
      [
        'an oversized body',
        413,
        () => post(JSON.stringify(batch(ours(rid())).events.map((e) => ({ ...e, pad: 'x'.repeat(2_000) })))),
      ],
    ])('%s → %i', async (_name, status, send) => {
      await expectNothingStored(h, async () => {
        const res = await send();
        expect(res.statusCode).toBe(status);
        expect(res.json()).toMatchObject({ error: expect.any(String) });
      });
    });

    it('rejects exactly what @sendgrid/eventwebhook rejects for a tampered body', () => {
      const b = body();
      const s = signBody(b);
      const ew = new EventWebhook();
      const key = ew.convertPublicKeyToECDSA(publicKey.export({ format: 'pem', type: 'spki' }).toString());
      expect(ew.verifySignature(key, `${b} `, s.signature, s.timestamp)).toBe(false);
    });
  });
});
