import { Channel, DeliveryStatus, TWILIO_CALLBACK_OVERRIDES } from '@dlr/contracts';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNothingStored, rid, startHarness, type Harness } from './harness.js';

const TOKEN = 'twilio-auth-token-0123456789abcdef';
// Behind the ingress, Twilio calls this public base; we are mounted under /pc there.
const PUBLIC = 'https://hooks.example.org/pc';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    TWILIO_AUTH_TOKEN: TOKEN,
    CALLBACK_PUBLIC_BASE_URL: PUBLIC,
    CALLBACK_BODY_LIMIT_BYTES: '4096',
  });
});
afterAll(async () => h?.close());

/** A status callback as Twilio documents it (form fields), for one message. */
function statusCallback(overrides: Record<string, string> = {}) {
  const sid = `SM${rid()}${rid()}${rid()}`.slice(0, 34);
  return {
    ApiVersion: '2010-04-01',
    AccountSid: 'ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
    MessagingServiceSid: 'MGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: 'delivered',
    SmsStatus: 'delivered',
    From: '+15017122661',
    To: '+61400675310',
    ...overrides,
  };
}

/** Posts the callback to our query string, signed by the twilio package over the public URL. */
function post(
  params: Record<string, string>,
  o: { query?: string; signedUrl?: string; token?: string; tamper?: Record<string, string> } = {},
) {
  const path = `/v1/callbacks/twilio?${o.query ?? `d=d_${params['MessageSid']}&c=c_tw&a=3`}`;
  const signature = twilio.getExpectedTwilioSignature(o.token ?? TOKEN, o.signedUrl ?? `${PUBLIC}${path}`, params);
  return h.app.http.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    payload: new URLSearchParams({ ...params, ...o.tamper }).toString(),
  });
}

describe('POST /v1/callbacks/twilio', () => {
  it('verifies the signature over the public URL and publishes Delivered with our query-string IDs', async () => {
    const cb = statusCallback();
    const res = await post(cb);
    expect(res.statusCode).toBe(202);
    await h.settled();
    const id = `provider:twilio:${cb.MessageSid}:delivered`;
    const [stored] = await h.events(id);
    expect(stored?.msgId).toBe(id);
    expect(stored?.event).toMatchObject({
      deliveryId: `d_${cb.MessageSid}`,
      communicationId: 'c_tw',
      attempt: 3,
      channel: Channel.CHANNEL_SMS,
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
      provider: 'twilio',
      providerEventType: 'delivered',
      providerMessageId: cb.MessageSid,
    });
    expect(await h.raw(`twilio:${cb.MessageSid}:delivered`)).toMatchObject({
      query: `d=d_${cb.MessageSid}&c=c_tw&a=3`,
      type: 'delivered',
      mapped: true,
    });
    // The twilio package's own validator agrees with what we accepted.
    const url = `${PUBLIC}/v1/callbacks/twilio?d=d_${cb.MessageSid}&c=c_tw&a=3`;
    expect(twilio.validateRequest(TOKEN, twilio.getExpectedTwilioSignature(TOKEN, url, cb), url, cb)).toBe(true);
  });

  it('also accepts a signature over the StatusCallback URL with the retry overrides dispatch adds', async () => {
    const cb = statusCallback();
    const path = `/v1/callbacks/twilio?d=d_${cb.MessageSid}&c=c_tw&a=3`;
    const res = await post(cb, { signedUrl: `${PUBLIC}${path}${TWILIO_CALLBACK_OVERRIDES}` });
    expect(res.statusCode).toBe(202);
    await h.settled();
    expect(await h.events(`provider:twilio:${cb.MessageSid}:delivered`)).toHaveLength(1);
    // Any other fragment is not what dispatch sent: refused.
    await expectNothingStored(h, async () => {
      const other = statusCallback();
      const signedUrl = `${PUBLIC}/v1/callbacks/twilio?d=d_${other.MessageSid}&c=c_tw&a=3#rc=1`;
      expect((await post(other, { signedUrl })).statusCode).toBe(401);
    });
  });

  it('keeps one event per (MessageSid, MessageStatus): sent and undelivered both count, repeats do not', async () => {
    const sent = statusCallback({ MessageStatus: 'sent', SmsStatus: 'sent' });
    const undelivered = { ...sent, MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: '30003' };
    const before = await h.published();
    for (const cb of [sent, undelivered, sent, undelivered]) expect((await post(cb)).statusCode).toBe(202);
    await h.settled();
    expect(await h.published()).toBe(before + 2);
    // 30003 (handset off or out of coverage) is temporary: Bounced Temporarily, nothing to suppress.
    const [bounced] = await h.events(`provider:twilio:${sent.MessageSid}:undelivered`);
    expect(bounced?.event).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
      reasonCode: 'temporary_bounce',
      reasonText: 'ErrorCode 30003',
    });
    const [first] = await h.events(`provider:twilio:${sent.MessageSid}:sent`);
    expect(first?.event.status).toBe(DeliveryStatus.DELIVERY_STATUS_SENT);
  });

  it('maps undelivered by its ErrorCode: 30005 is a permanent bounce, 30007 Failed without one, 21610 Opted-out', async () => {
    const cases = [
      ['30005', DeliveryStatus.DELIVERY_STATUS_FAILED, 'permanent_bounce'],
      ['30007', DeliveryStatus.DELIVERY_STATUS_FAILED, 'provider_rejected'],
      ['21610', DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, 'unsubscribed'],
    ] as const;
    const sids: string[] = [];
    for (const [code] of cases) {
      const cb = statusCallback({ MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: code });
      sids.push(cb.MessageSid);
      expect((await post(cb)).statusCode).toBe(202);
    }
    await h.settled();
    for (const [i, [code, status, reasonCode]] of cases.entries()) {
      const [stored] = await h.events(`provider:twilio:${sids[i]}:undelivered`);
      expect(stored?.event).toMatchObject({ status, reasonCode, reasonText: `ErrorCode ${code}` });
    }
  });

  it('stores queued (no status change) raw, counts it unmapped, publishes nothing', async () => {
    const before = await h.published();
    const unmapped = await h.metric('dlr_callbacks_unmapped_total', 'twilio');
    const cb = statusCallback({ MessageStatus: 'queued', SmsStatus: 'queued' });
    expect((await post(cb)).statusCode).toBe(202);
    await h.settled();
    expect(await h.raw(`twilio:${cb.MessageSid}:queued`)).toMatchObject({ mapped: false });
    expect(await h.metric('dlr_callbacks_unmapped_total', 'twilio')).toBe(unmapped + 1);
    expect(await h.published()).toBe(before);
  });

  it('answers 404 for providers that are not configured', async () => {
    for (const p of ['ses', 'sendgrid', 'mailgun', 'simulator'])
      expect((await h.app.http.inject({ method: 'POST', url: `/v1/callbacks/${p}`, payload: '{}' })).statusCode).toBe(
        404,
      );
  });

  describe('refuses without storing or publishing anything', () => {
    it.each<[string, number, () => ReturnType<typeof post>]>([
      [
        'a signature with another auth token',
        401,
        () => post(statusCallback(), { token: 'another-token-0123456789abc' }),
      ],
      [
        'a signature over the internal URL instead of the public one',
        401,
        () =>
          post(statusCallback(), {
            signedUrl: 'http://127.0.0.1/v1/callbacks/twilio?d=d_1&c=c_tw&a=3',
            query: 'd=d_1&c=c_tw&a=3',
          }),
      ],
      [
        'our query string changed after signing',
        401,
        () =>
          post(statusCallback(), {
            signedUrl: `${PUBLIC}/v1/callbacks/twilio?d=d_1&c=c_tw&a=3`,
            query: 'd=d_2&c=c_tw&a=3',
          }),
      ],
      [
        'a form field changed after signing',
        401,
        () => post(statusCallback(), { tamper: { MessageStatus: 'failed' } }),
      ],
      ['no MessageSid', 400, () => post(statusCallback({ MessageSid: '', SmsSid: '' }), { query: 'd=d_1&c=c_tw&a=3' })],
      ['a bad attempt in our query string', 400, () => post(statusCallback(), { query: 'd=d_1&c=c_tw&a=0' })],
      ['an oversized body', 413, () => post(statusCallback({ Body: 'x'.repeat(5_000) }))],
    ])('%s → %i', async (_name, status, send) => {
      await expectNothingStored(h, async () => {
        const res = await send();
        expect(res.statusCode).toBe(status);
        expect(res.json()).toMatchObject({ error: expect.any(String) });
      });
    });
  });
});
