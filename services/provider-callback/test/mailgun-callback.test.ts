import { createHmac, randomBytes } from 'node:crypto';
import { Channel, DeliveryStatus, EventSource } from '@dlr/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers.js';
import { expectNothingStored, rid, startHarness, type Harness } from './harness.js';

const KEY = 'mailgun-signing-key-0123456789abcdef';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ MAILGUN_WEBHOOK_SIGNING_KEY: KEY, CALLBACK_BODY_LIMIT_BYTES: '8192' });
});
afterAll(async () => h?.close());

/** Mailgun's documented webhook shape: `signature` {timestamp, token, signature} + `event-data`. */
function signature(key = KEY, timestamp = Math.floor(Date.now() / 1000)) {
  const token = randomBytes(25).toString('hex');
  const ts = String(timestamp);
  return {
    timestamp: ts,
    token,
    signature: createHmac('sha256', key)
      .update(ts + token)
      .digest('hex'),
  };
}

function eventData(overrides: Record<string, unknown> = {}) {
  const id = rid();
  return {
    id: `mg${id}`,
    timestamp: 1_700_000_000.123456,
    'log-level': 'info',
    event: 'delivered',
    envelope: { sender: 'sender@sample.mailgun.com', targets: 'recipient@sample.mailgun.com', transport: 'smtp' },
    flags: { 'is-authenticated': true, 'is-test-mode': false },
    message: { headers: { 'message-id': `2026${id}.000be97f99f8cea1@sample.mailgun.com`, subject: 'x' }, size: 341 },
    recipient: 'recipient@sample.mailgun.com',
    'recipient-domain': 'sample.mailgun.com',
    'delivery-status': { code: 250, message: 'OK', description: '', 'attempt-no': 1 },
    'user-variables': { delivery_id: `d_${id}`, communication_id: 'c_mg', attempt: '2' },
    ...overrides,
  };
}

const post = (body: string) =>
  h.app.http.inject({
    method: 'POST',
    url: '/v1/callbacks/mailgun',
    headers: { 'content-type': 'application/json' },
    payload: body,
  });
const signed = (data: Record<string, unknown>, sig = signature()) =>
  JSON.stringify({ signature: sig, 'event-data': data });

describe('POST /v1/callbacks/mailgun', () => {
  it('stores a delivered event raw and publishes Delivered with our user-variables', async () => {
    const data = eventData();
    const body = signed(data);
    expect((await post(body)).statusCode).toBe(202);
    await h.settled();
    const [stored] = await h.events(`provider:mailgun:${data.id}`);
    expect(stored?.msgId).toBe(`provider:mailgun:${data.id}`);
    expect(stored?.event).toMatchObject({
      deliveryId: data['user-variables'].delivery_id,
      communicationId: 'c_mg',
      attempt: 2,
      channel: Channel.CHANNEL_EMAIL,
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
      source: EventSource.EVENT_SOURCE_PROVIDER,
      provider: 'mailgun',
      providerEventType: 'delivered',
      occurredAt: new Date(1_700_000_000_123),
    });
    expect(await h.raw(`mailgun:${data.id}`)).toMatchObject({
      provider: 'mailgun',
      body,
      type: 'delivered',
      mapped: true,
    });
  });

  it.each([
    ['permanent', DeliveryStatus.DELIVERY_STATUS_FAILED, 'permanent_bounce'],
    ['temporary', DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY, 'temporary_bounce'],
  ])('maps a failed event of severity %s', async (severity, status, reasonCode) => {
    const data = eventData({
      event: 'failed',
      severity,
      reason: 'bounce',
      'delivery-status': { code: 550, message: '5.1.1 The email account does not exist', description: '' },
    });
    expect((await post(signed(data))).statusCode).toBe(202);
    await h.settled();
    const [stored] = await h.events(`provider:mailgun:${data.id}`);
    expect(stored?.event).toMatchObject({ status, reasonCode, reasonText: '5.1.1 The email account does not exist' });
  });

  it('refuses a signature token used before, even on another event, and keeps the first', async () => {
    const sig = signature();
    const first = eventData();
    expect((await post(signed(first, sig))).statusCode).toBe(202);
    await h.settled();
    await expectNothingStored(h, async () => {
      const replay = await post(signed(eventData(), sig));
      expect(replay.statusCode).toBe(401);
      expect(replay.json()).toMatchObject({ error: 'unauthenticated', message: expect.stringMatching(/token/) });
    });
    expect(await h.events(`provider:mailgun:${first.id}`)).toHaveLength(1);
  });

  it('publishes a repeated event once', async () => {
    const data = eventData({ event: 'opened' });
    const before = await h.published();
    expect((await post(signed(data))).statusCode).toBe(202);
    await h.settled();
    expect((await post(signed(data))).statusCode).toBe(202);
    await h.settled();
    expect(await h.published()).toBe(before + 1);
    expect((await h.events(`provider:mailgun:${data.id}`))[0]?.event.status).toBe(DeliveryStatus.DELIVERY_STATUS_READ);
  });

  it('stores an unmapped event (clicked) raw, counts it and publishes nothing', async () => {
    const unmapped = await h.metric('dlr_callbacks_unmapped_total', 'mailgun');
    const before = await h.published();
    const data = eventData({ event: 'clicked', url: 'https://example.org/' });
    const res = await post(signed(data));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'accepted' });
    await h.settled();
    expect(await h.raw(`mailgun:${data.id}`)).toMatchObject({ type: 'clicked', mapped: false });
    expect(await h.metric('dlr_callbacks_unmapped_total', 'mailgun')).toBe(unmapped + 1);
    expect(await h.published()).toBe(before);
  });

  it('parks an event without our variables and publishes it when dispatch reports the message', async () => {
    const data = eventData({ 'user-variables': {} });
    const messageId = (data.message as { headers: Record<string, string> }).headers['message-id']!;
    const res = await post(signed(data));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'accepted' });
    await h.settled();
    expect(await h.events(`provider:mailgun:${data.id}`)).toHaveLength(0);
    expect(await h.metric('dlr_callbacks_parked_total', 'mailgun')).toBeGreaterThanOrEqual(1);
    // Mailgun's send API answers the message id in angle brackets; its events carry it bare.
    await h.dispatchSent({ provider: 'mailgun', providerMessageId: `<${messageId}>`, deliveryId: 'd_parkedmg' });
    const [released] = await eventually(async () => {
      const found = await h.events(`provider:mailgun:${data.id}`);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(released?.event).toMatchObject({ deliveryId: 'd_parkedmg', communicationId: 'c_parked', attempt: 1 });
    await eventually(async () => expect(await h.mongo.db.collection('parked_callbacks').countDocuments({})).toBe(0));
    expect(await h.metric('dlr_callbacks_released_total', 'mailgun')).toBe(1);
    // A later repeat finds the message known and publishes the same event (a duplicate).
    expect((await post(signed(data))).statusCode).toBe(202);
    await h.settled();
    expect(await h.events(`provider:mailgun:${data.id}`)).toHaveLength(1);
  });

  describe('refuses without storing or publishing anything', () => {
    const now = () => Math.floor(Date.now() / 1000);
    it.each<[string, number, () => string]>([
      ['a signature made with another key', 401, () => signed(eventData(), signature('another-key-0123456789abcdef'))],
      ['a bad signature', 401, () => signed(eventData(), { ...signature(), signature: 'ab'.repeat(32) })],
      ['a stale timestamp (replay)', 401, () => signed(eventData(), signature(KEY, now() - 301))],
      [
        'a body changed after signing (token swapped)',
        401,
        () => signed(eventData(), { ...signature(), token: 'x'.repeat(50) }),
      ],
      ['not JSON', 400, () => '{"signature":'],
      ['no event-data', 400, () => JSON.stringify({ signature: signature() })],
      ['no event id', 400, () => signed(eventData({ id: undefined }))],
      [
        'a bad attempt variable',
        400,
        () => signed(eventData({ 'user-variables': { delivery_id: 'd_1', communication_id: 'c_1', attempt: 'zero' } })),
      ],
      ['an oversized body', 413, () => signed(eventData({ padding: 'x'.repeat(9_000) }))],
    ])('%s → %i', async (_name, status, make) => {
      await expectNothingStored(h, async () => {
        const res = await post(make());
        expect(res.statusCode).toBe(status);
        expect(res.json()).toMatchObject({ error: expect.any(String) });
      });
    });
  });
});
