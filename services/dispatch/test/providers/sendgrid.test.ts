import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { SendGridProvider } from '../../src/adapters/providers/sendgrid.js';
import { ProviderRejectedError, ProviderUnavailableError } from '../../src/domain/provider.js';
import type { HttpPeer } from '../peers/http-peer.js';
import { startSendGridPeer } from '../peers/sendgrid.js';
import { outbound, sendRequest, startDispatch, UNSUBSCRIBE_HEADERS, type DispatchUnderTest } from './harness.js';

const apiKey = 'SG.test-key.0123456789';
let peer: HttpPeer;

beforeAll(async () => {
  peer = await startSendGridPeer(apiKey);
});
afterAll(async () => {
  await peer?.stop();
});

const adapter = (key = apiKey) =>
  new SendGridProvider({ apiKey: key, from: 'Alerts <alerts@test.example>', baseUrl: peer.url, timeoutMs: 5_000 });
const lastJson = () => JSON.parse(peer.received.at(-1)!.body.toString('utf8')) as Record<string, unknown>;

describe('SendGrid adapter against a v3 Mail Send peer', () => {
  it('sends one recipient with bearer auth, our IDs as custom_args and the given headers; returns X-Message-Id', async () => {
    const message = outbound('email', 'someone@example.org', UNSUBSCRIBE_HEADERS);
    const { providerMessageId } = await adapter().send(message);
    const request = peer.received.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v3/mail/send');
    expect(request.headers['authorization']).toBe(`Bearer ${apiKey}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(lastJson()).toEqual({
      personalizations: [{ to: [{ email: 'someone@example.org' }] }],
      from: { email: 'alerts@test.example', name: 'Alerts' },
      subject: 'Flood warning: move to higher ground',
      content: [
        { type: 'text/plain', value: message.body },
        { type: 'text/html', value: message.html },
      ],
      custom_args: { delivery_id: message.deliveryId, communication_id: message.communicationId, attempt: '2' },
      headers: UNSUBSCRIBE_HEADERS,
    });
    expect(providerMessageId).toMatch(/^[A-Za-z0-9_-]{10,}$/);
  });

  it('sends no headers field when the message has none', async () => {
    await adapter().send(outbound('email', 'someone@example.org'));
    expect(lastJson()).not.toHaveProperty('headers');
  });

  it('a documented 400 error → ProviderRejectedError with the field and SendGrid’s words', async () => {
    const error = await adapter()
      .send(outbound('email', 'reject@example.org'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(error).toMatchObject({
      code: 'http_400',
      text: 'personalizations.0.to.0.email: Does not contain a valid address.',
    });
  });

  it('a refused key (401) → ProviderRejectedError', async () => {
    const error = await adapter('SG.wrong')
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProviderRejectedError', code: 'http_401' });
  });

  it('429 with Retry-After and 5xx → ProviderUnavailableError', async () => {
    peer.failNext(
      {
        status: 429,
        headers: { 'retry-after': '2' },
        body: { errors: [{ message: 'too many requests', field: null }] },
      },
      { status: 503, body: 'Service Unavailable' },
    );
    const first = await adapter()
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ProviderUnavailableError);
    expect(first).toMatchObject({ kind: 'http_429', retryAfterMs: 2_000 });
    const second = await adapter()
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ name: 'ProviderUnavailableError', kind: 'http_503' });
  });
});

describe('dispatch with EMAIL_PROVIDER=sendgrid (real NATS + MongoDB)', () => {
  let dispatch: DispatchUnderTest;
  beforeAll(async () => {
    dispatch = await startDispatch({
      EMAIL_PROVIDER: 'sendgrid',
      SMS_PROVIDER: 'simulator',
      SIMULATOR_URL: 'http://127.0.0.1:9',
      SIMULATOR_API_KEY: 'unused',
      EMAIL_FROM: 'alerts@test.example',
      SENDGRID_API_KEY: apiKey,
      SENDGRID_BASE_URL: peer.url,
    });
  });
  afterAll(async () => {
    await dispatch?.stop();
  });

  it('Sent with provider "sendgrid" and the X-Message-Id, after retrying a 429', async () => {
    peer.failNext({ status: 429, body: { errors: [{ message: 'too many requests', field: null }] } });
    const before = peer.received.length;
    const req = sendRequest('email', 'someone@example.org');
    await dispatch.publish(req);
    const event = await dispatch.eventOf(req.deliveryId);
    expect(event).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT, provider: 'sendgrid', reasonCode: '' });
    expect(peer.received.length - before).toBe(2);
    expect(event.providerMessageId).toMatch(/^[A-Za-z0-9_-]{10,}$/);
    const sent = JSON.parse(peer.received.at(-1)!.body.toString('utf8')) as { custom_args: unknown };
    expect(sent.custom_args).toEqual({
      delivery_id: req.deliveryId,
      communication_id: req.communicationId,
      attempt: '1',
    });
  });

  it('Not Sent provider_rejected with SendGrid’s words when it refuses', async () => {
    const req = sendRequest('email', 'reject@example.org');
    await dispatch.publish(req);
    expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      provider: 'sendgrid',
      reasonCode: 'provider_rejected',
      providerEventType: 'http_400',
      reasonText: 'personalizations.0.to.0.email: Does not contain a valid address.',
    });
  });

  it('Not Sent provider_unavailable after the first call and PROVIDER_MAX_RETRIES (2) retries of a 503', async () => {
    peer.failAll({ status: 503, body: 'Service Unavailable' });
    try {
      const before = peer.received.length;
      const req = sendRequest('email', 'someone@example.org');
      await dispatch.publish(req);
      const event = await dispatch.eventOf(req.deliveryId);
      expect(event).toMatchObject({
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        provider: 'sendgrid',
        reasonCode: 'provider_unavailable',
        providerEventType: 'http_503',
      });
      expect(peer.received.length - before).toBe(3);
    } finally {
      peer.failAll(undefined);
    }
  });
});
