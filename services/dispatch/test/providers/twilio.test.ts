import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { TwilioProvider } from '../../src/adapters/providers/twilio.js';
import { ProviderRejectedError, ProviderUnavailableError } from '../../src/domain/provider.js';
import { formFields, type HttpPeer } from '../peers/http-peer.js';
import { startTwilioPeer } from '../peers/twilio.js';
import { outbound, sendRequest, startDispatch, type DispatchUnderTest } from './harness.js';

const accountSid = `AC${'0123456789abcdef'.repeat(2)}`;
const authToken = 'twilio-test-token-0123456789';
const messagingServiceSid = `MG${'fedcba9876543210'.repeat(2)}`;
const callbackBase = 'https://callbacks.test.example';
let peer: HttpPeer;

beforeAll(async () => {
  peer = await startTwilioPeer(accountSid, authToken);
});
afterAll(async () => {
  await peer?.stop();
});

const adapter = (
  sender: { from: string } | { messagingServiceSid: string } = { from: '+15005550006' },
  token = authToken,
) =>
  new TwilioProvider({
    accountSid,
    authToken: token,
    sender,
    callbackBaseUrl: callbackBase,
    baseUrl: peer.url,
    timeoutMs: 5_000,
  });

describe('Twilio adapter against a Messages API peer', () => {
  it('posts To/From/Body/StatusCallback form-encoded with basic auth sid:token; returns the SM sid', async () => {
    const message = outbound('sms', '+61400675310');
    const { providerMessageId } = await adapter().send(message);
    const request = peer.received.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`/2010-04-01/Accounts/${accountSid}/Messages.json`);
    expect(request.headers['authorization']).toBe(
      `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
    );
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(await formFields(request)).toEqual([
      ['To', '+61400675310'],
      ['From', '+15005550006'],
      ['Body', 'Flood warning: move now.'],
      [
        'StatusCallback',
        // Twilio's connection overrides: retry a failed status callback (it does not by default).
        `${callbackBase}/v1/callbacks/twilio?d=${message.deliveryId}&c=${message.communicationId}&a=2#rc=5&rp=all`,
      ],
    ]);
    expect(providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
  });

  it('uses MessagingServiceSid instead of From when configured so', async () => {
    await adapter({ messagingServiceSid }).send(outbound('sms', '+61400675310'));
    const fields = new Map(await formFields(peer.received.at(-1)!));
    expect(fields.get('MessagingServiceSid')).toBe(messagingServiceSid);
    expect(fields.has('From')).toBe(false);
  });

  it('a documented 400 error → ProviderRejectedError with Twilio’s code and words', async () => {
    const error = await adapter()
      .send(outbound('sms', '+15005550001'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(error).toMatchObject({ code: '21211', text: "The 'To' number +15005550001 is not a valid phone number." });
  });

  it('a wrong token (401, code 20003) → ProviderRejectedError', async () => {
    const error = await adapter(undefined, 'wrong')
      .send(outbound('sms', '+61400675310'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProviderRejectedError', code: '20003', text: 'Authenticate' });
  });

  it('429 (code 20429, Retry-After) and 503 → ProviderUnavailableError', async () => {
    peer.failNext(
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: {
          code: 20429,
          message: 'Too Many Requests',
          more_info: 'https://www.twilio.com/docs/errors/20429',
          status: 429,
        },
      },
      { status: 503, body: 'Service Unavailable' },
    );
    const first = await adapter()
      .send(outbound('sms', '+61400675310'))
      .catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ProviderUnavailableError);
    expect(first).toMatchObject({ kind: 'http_429', retryAfterMs: 1_000 });
    const second = await adapter()
      .send(outbound('sms', '+61400675310'))
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ name: 'ProviderUnavailableError', kind: 'http_503' });
  });

  it('a provider that does not answer in time → ProviderUnavailableError timeout', async () => {
    // A peer that accepts the connection and never answers.
    const held: Socket[] = [];
    const server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const silent = new TwilioProvider({
      accountSid,
      authToken,
      sender: { from: '+15005550006' },
      callbackBaseUrl: callbackBase,
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 200,
    });
    const error = await silent.send(outbound('sms', '+61400675310')).catch((e: unknown) => e);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as ProviderUnavailableError).kind).toBe('timeout');
  });
});

describe('dispatch with SMS_PROVIDER=twilio (real NATS + MongoDB)', () => {
  let dispatch: DispatchUnderTest;
  beforeAll(async () => {
    dispatch = await startDispatch({
      SIMULATOR_URL: 'http://127.0.0.1:9',
      SIMULATOR_API_KEY: 'unused',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: authToken,
      TWILIO_MESSAGING_SERVICE_SID: messagingServiceSid,
      TWILIO_BASE_URL: peer.url,
    });
  });
  afterAll(async () => {
    await dispatch?.stop();
  });

  it('Sent with provider "twilio", the SM sid, and a StatusCallback carrying our IDs', async () => {
    const req = sendRequest('sms', '+61400675310');
    await dispatch.publish(req);
    const event = await dispatch.eventOf(req.deliveryId);
    expect(event).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT, provider: 'twilio' });
    expect(event.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    const fields = new Map(await formFields(peer.received.at(-1)!));
    expect(fields.get('StatusCallback')).toBe(
      `https://callbacks.test.example/v1/callbacks/twilio?d=${req.deliveryId}&c=${req.communicationId}&a=1#rc=5&rp=all`,
    );
    expect(fields.get('Body')).toBe('Flood warning: move to higher ground now.');
  });

  it('Not Sent provider_rejected with Twilio’s code for an invalid number', async () => {
    const req = sendRequest('sms', '+15005550001');
    await dispatch.publish(req);
    expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      provider: 'twilio',
      reasonCode: 'provider_rejected',
      providerEventType: '21211',
      reasonText: "The 'To' number +15005550001 is not a valid phone number.",
    });
  });

  it('Not Sent provider_unavailable after retrying a 503 (three calls)', async () => {
    peer.failAll({ status: 503, body: 'Service Unavailable' });
    try {
      const before = peer.received.length;
      const req = sendRequest('sms', '+61400675310');
      await dispatch.publish(req);
      expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        provider: 'twilio',
        reasonCode: 'provider_unavailable',
        providerEventType: 'http_503',
      });
      expect(peer.received.length - before).toBe(3);
    } finally {
      peer.failAll(undefined);
    }
  });
});
