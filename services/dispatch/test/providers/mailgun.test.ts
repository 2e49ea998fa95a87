import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { MailgunProvider } from '../../src/adapters/providers/mailgun.js';
import { ProviderRejectedError, ProviderUnavailableError } from '../../src/domain/provider.js';
import { formFields, type HttpPeer } from '../peers/http-peer.js';
import { startMailgunPeer } from '../peers/mailgun.js';
import { outbound, sendRequest, startDispatch, UNSUBSCRIBE_HEADERS, type DispatchUnderTest } from './harness.js';

const apiKey = 'key-test-0123456789abcdef';
const domain = 'mg.test.example';
let peer: HttpPeer;

beforeAll(async () => {
  peer = await startMailgunPeer(domain, apiKey);
});
afterAll(async () => {
  await peer?.stop();
});

const adapter = (key = apiKey) =>
  new MailgunProvider({
    apiKey: key,
    domain,
    from: 'Alerts <alerts@test.example>',
    baseUrl: peer.url,
    timeoutMs: 5_000,
  });

describe('Mailgun adapter against a Messages API peer', () => {
  it('posts a multipart form with basic auth api:<key>, h: headers and v: variables; returns the id without brackets', async () => {
    const message = outbound('email', 'someone@example.org', UNSUBSCRIBE_HEADERS);
    const { providerMessageId } = await adapter().send(message);
    const request = peer.received.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`/v3/${domain}/messages`);
    expect(request.headers['authorization']).toBe(`Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`);
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(await formFields(request)).toEqual([
      ['from', 'Alerts <alerts@test.example>'],
      ['to', 'someone@example.org'],
      ['subject', 'Flood warning: move to higher ground'],
      // multipart/form-data carries line breaks as CRLF (as the email itself will).
      ['text', message.body.replace(/\n/g, '\r\n')],
      ['html', message.html],
      ['h:List-Unsubscribe', UNSUBSCRIBE_HEADERS['List-Unsubscribe']],
      ['h:List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
      ['v:delivery_id', message.deliveryId],
      ['v:communication_id', message.communicationId],
      ['v:attempt', '2'],
    ]);
    expect(providerMessageId).toMatch(new RegExp(`^\\d{14}\\.[0-9a-f]{16}@${domain.replace(/\./g, '\\.')}$`));
  });

  it('a documented 400 error → ProviderRejectedError with Mailgun’s words', async () => {
    const error = await adapter()
      .send(outbound('email', 'reject@example.org'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(error).toMatchObject({
      code: 'http_400',
      text: 'to parameter is not a valid address. please check documentation',
    });
  });

  it('a refused key (401 "Forbidden" as text) → ProviderRejectedError', async () => {
    const error = await adapter('key-wrong')
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProviderRejectedError', code: 'http_401', text: 'Forbidden' });
  });

  it('429 and 5xx → ProviderUnavailableError', async () => {
    peer.failNext(
      { status: 429, body: { message: 'Too many requests' } },
      { status: 500, body: 'Internal Server Error' },
    );
    for (const kind of ['http_429', 'http_500']) {
      const error = await adapter()
        .send(outbound('email', 'someone@example.org'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(error).toMatchObject({ kind });
    }
  });
});

describe('dispatch with EMAIL_PROVIDER=mailgun (real NATS + MongoDB)', () => {
  let dispatch: DispatchUnderTest;
  beforeAll(async () => {
    dispatch = await startDispatch({
      EMAIL_PROVIDER: 'mailgun',
      SIMULATOR_URL: 'http://127.0.0.1:9',
      SIMULATOR_API_KEY: 'unused',
      EMAIL_FROM: 'alerts@test.example',
      MAILGUN_API_KEY: apiKey,
      MAILGUN_DOMAIN: domain,
      MAILGUN_BASE_URL: peer.url,
    });
  });
  afterAll(async () => {
    await dispatch?.stop();
  });

  it('Sent with provider "mailgun" and its message id', async () => {
    const req = sendRequest('email', 'someone@example.org');
    await dispatch.publish(req);
    const event = await dispatch.eventOf(req.deliveryId);
    expect(event).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT, provider: 'mailgun' });
    expect(event.providerMessageId).toMatch(new RegExp(`@${domain.replace(/\./g, '\\.')}$`));
  });

  it('Not Sent provider_rejected when Mailgun refuses', async () => {
    const req = sendRequest('email', 'reject@example.org');
    await dispatch.publish(req);
    expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      provider: 'mailgun',
      reasonCode: 'provider_rejected',
      reasonText: 'to parameter is not a valid address. please check documentation',
    });
  });

  it('Not Sent provider_unavailable after retrying a 429 (three calls)', async () => {
    peer.failAll({ status: 429, body: { message: 'Too many requests' } });
    try {
      const before = peer.received.length;
      const req = sendRequest('email', 'someone@example.org');
      await dispatch.publish(req);
      expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        reasonCode: 'provider_unavailable',
        providerEventType: 'http_429',
      });
      expect(peer.received.length - before).toBe(3);
    } finally {
      peer.failAll(undefined);
    }
  });
});
