import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { SesProvider, sesTagValue } from '../../src/adapters/providers/ses.js';
import { ProviderRejectedError, ProviderUnavailableError } from '../../src/domain/provider.js';
import type { HttpPeer } from '../peers/http-peer.js';
import { sigV4Problem, startSesPeer } from '../peers/ses.js';
import { outbound, sendRequest, startDispatch, UNSUBSCRIBE_HEADERS, type DispatchUnderTest } from './harness.js';

const credentials = { accessKeyId: 'AKIDTESTDLR0000000', secretAccessKey: 'test-secret-0123456789abcdefghij' };
const region = 'eu-west-1';
let peer: HttpPeer;

beforeAll(async () => {
  peer = await startSesPeer({ ...credentials, region });
});
afterAll(async () => {
  await peer?.stop();
});

const adapter = (secretAccessKey = credentials.secretAccessKey) =>
  new SesProvider({
    region,
    configurationSet: 'dlr-events',
    from: 'Alerts <alerts@test.example>',
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey },
    endpoint: peer.url,
    timeoutMs: 5_000,
  });
const lastJson = () => JSON.parse(peer.received.at(-1)!.body.toString('utf8')) as Record<string, unknown>;

describe('SES v2 adapter against a SendEmail peer that checks SigV4', () => {
  it('signs with the access key and region, sends simple content with headers, the configuration set and our tags', async () => {
    const message = outbound('email', 'someone@example.org', UNSUBSCRIBE_HEADERS);
    const { providerMessageId } = await adapter().send(message);
    const request = peer.received.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v2/email/outbound-emails');
    expect(request.headers['authorization']).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/${region}/ses/aws4_request, SignedHeaders=`,
      ),
    );
    expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(sigV4Problem(request, { ...credentials, region })).toBeUndefined();
    expect(lastJson()).toEqual({
      FromEmailAddress: 'Alerts <alerts@test.example>',
      Destination: { ToAddresses: ['someone@example.org'] },
      Content: {
        Simple: {
          Subject: { Data: 'Flood warning: move to higher ground', Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.body, Charset: 'UTF-8' },
            Html: { Data: message.html, Charset: 'UTF-8' },
          },
          Headers: [
            { Name: 'List-Unsubscribe', Value: UNSUBSCRIBE_HEADERS['List-Unsubscribe'] },
            { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
          ],
        },
      },
      ConfigurationSetName: 'dlr-events',
      EmailTags: [
        { Name: 'delivery_id', Value: message.deliveryId },
        { Name: 'communication_id', Value: message.communicationId },
        { Name: 'attempt', Value: '2' },
      ],
    });
    expect(providerMessageId).toMatch(/^0100[0-9a-f]{32}-000000$/);
  });

  it('keeps tag values in SES’s charset', () => {
    expect(sesTagValue('d_AbC-12_x')).toBe('d_AbC-12_x');
    const encoded = sesTagValue('a.b@c d/é');
    expect(encoded).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(Buffer.from(encoded.slice('b64_'.length), 'base64url').toString('utf8')).toBe('a.b@c d/é');
  });

  it('MessageRejected (400, restJson error) → ProviderRejectedError with SES’s words', async () => {
    const error = await adapter()
      .send(outbound('email', 'reject@example.org'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(error).toMatchObject({ code: 'MessageRejected' });
    expect((error as ProviderRejectedError).text).toMatch(/^Email address is not verified/);
  });

  it('a wrong secret fails the peer’s signature check → ProviderRejectedError SignatureDoesNotMatch', async () => {
    const error = await adapter('wrong-secret')
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProviderRejectedError', code: 'SignatureDoesNotMatch' });
  });

  it('TooManyRequestsException (429) and a 503 → ProviderUnavailableError, one HTTP call each', async () => {
    peer.failNext(
      {
        status: 429,
        headers: { 'x-amzn-errortype': 'TooManyRequestsException:' },
        body: { message: 'Too many requests' },
      },
      { status: 503, body: 'Service Unavailable' },
    );
    const before = peer.received.length;
    const first = await adapter()
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ProviderUnavailableError);
    expect(first).toMatchObject({ kind: 'http_429' });
    const second = await adapter()
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ name: 'ProviderUnavailableError', kind: 'http_503' });
    // The SDK does not retry on its own: the dispatcher's policy decides.
    expect(peer.received.length - before).toBe(2);
  });
});

describe('dispatch with EMAIL_PROVIDER=ses (real NATS + MongoDB)', () => {
  let dispatch: DispatchUnderTest;
  beforeAll(async () => {
    dispatch = await startDispatch({
      EMAIL_PROVIDER: 'ses',
      SIMULATOR_URL: 'http://127.0.0.1:9',
      SIMULATOR_API_KEY: 'unused',
      EMAIL_FROM: 'alerts@test.example',
      SES_REGION: region,
      SES_CONFIGURATION_SET: 'dlr-events',
      SES_ACCESS_KEY_ID: credentials.accessKeyId,
      SES_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      SES_ENDPOINT: peer.url,
    });
  });
  afterAll(async () => {
    await dispatch?.stop();
  });

  it('Sent with provider "ses" and SES’s MessageId; tags carry our IDs', async () => {
    const req = sendRequest('email', 'someone@example.org');
    await dispatch.publish(req);
    const event = await dispatch.eventOf(req.deliveryId);
    expect(event).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT, provider: 'ses' });
    expect(event.providerMessageId).toMatch(/^0100[0-9a-f]{32}-000000$/);
    expect(lastJson()['EmailTags']).toEqual([
      { Name: 'delivery_id', Value: req.deliveryId },
      { Name: 'communication_id', Value: req.communicationId },
      { Name: 'attempt', Value: '1' },
    ]);
  });

  it('Not Sent provider_rejected MessageRejected', async () => {
    const req = sendRequest('email', 'reject@example.org');
    await dispatch.publish(req);
    expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      provider: 'ses',
      reasonCode: 'provider_rejected',
      providerEventType: 'MessageRejected',
    });
  });

  it('Not Sent provider_unavailable after retrying throttling (three calls)', async () => {
    peer.failAll({
      status: 429,
      headers: { 'x-amzn-errortype': 'TooManyRequestsException:' },
      body: { message: 'Too many requests' },
    });
    try {
      const before = peer.received.length;
      const req = sendRequest('email', 'someone@example.org');
      await dispatch.publish(req);
      expect(await dispatch.eventOf(req.deliveryId)).toMatchObject({
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        provider: 'ses',
        reasonCode: 'provider_unavailable',
        providerEventType: 'http_429',
      });
      expect(peer.received.length - before).toBe(3);
    } finally {
      peer.failAll(undefined);
    }
  });
});
