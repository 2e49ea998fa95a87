import { execFileSync } from 'node:child_process';
import { sign, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel, DeliveryStatus } from '@dlr/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnsHttp } from '../src/adapters/http/sns-client.js';
import { eventually } from './helpers.js';
import { expectNothingStored, rid, startHarness, type Harness } from './harness.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
// SNS's real host name: the fake network below routes every https://<host>/... to the local server.
const HOST = 'sns.us-east-1.amazonaws.com';
const CERT_URL = `https://${HOST}/SimpleNotificationService-0000000000000000000000.pem`;

let dir: string;
let key: KeyObject;
let server: Server;
let port: number;
const hits: string[] = [];
let h: Harness;

/** The fake network: any https URL is served by the local HTTP server (so a wrong host would be fetched). */
const snsHttp: SnsHttp = {
  get: async (url) => {
    const res = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.text();
  },
};

beforeAll(async () => {
  // A test RSA key and a self-signed certificate, like SNS's signing certificate.
  dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${HOST}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.endsWith('.pem'))
      return void res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert);
    if (req.url?.startsWith('/?Action=ConfirmSubscription'))
      return void res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  h = await startHarness(
    {
      SES_SNS_TOPIC_ARNS: `${TOPIC},arn:aws:sns:eu-west-1:123456789012:other`,
      CALLBACK_BODY_LIMIT_BYTES: '16384',
    },
    { snsHttp },
  );
});

afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Sns = Record<string, string>;

/** Signs an SNS message as SNS does: `key\nvalue\n` of the signed fields in order, RSA SHA1 (v1) / SHA256 (v2). */
function signSns(m: Sns, version: '1' | '2' = '1', signingKey: KeyObject = key): Sns {
  const fields =
    m['Type'] === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = fields
    .filter((f) => m[f] !== undefined)
    .map((f) => `${f}\n${m[f]}\n`)
    .join('');
  const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(text), signingKey).toString('base64');
  return { ...m, SignatureVersion: version, Signature: signature };
}

/** An SNS Notification carrying an SES event record (shapes from the SES event-publishing examples). */
function notification(
  record: Record<string, unknown>,
  o: { version?: '1' | '2'; topic?: string; timestamp?: Date } = {},
) {
  return signSns(
    {
      Type: 'Notification',
      MessageId: `${rid()}-${rid()}-4d12-a87d-dd0099a07f8a`,
      TopicArn: o.topic ?? TOPIC,
      Subject: 'Amazon SES Email Event Notification',
      Message: JSON.stringify(record),
      Timestamp: (o.timestamp ?? new Date()).toISOString(),
      SigningCertURL: CERT_URL,
      UnsubscribeURL: `https://${HOST}/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:1`,
    },
    o.version,
  );
}

function sesRecord(
  eventType: string,
  detail: Record<string, unknown> | undefined,
  tags: Record<string, string[]> | null,
) {
  const messageId = `EXAMPLE${rid()}-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000`;
  return {
    messageId,
    record: {
      eventType,
      mail: {
        timestamp: '2017-08-05T00:40:02.012Z',
        source: 'Sender Name <sender@example.com>',
        sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/sender@example.com',
        sendingAccountId: '123456789012',
        messageId,
        destination: ['recipient@example.com'],
        headersTruncated: false,
        tags: { 'ses:configuration-set': ['ConfigSet'], 'ses:source-ip': ['192.0.2.0'], ...tags },
      },
      ...(detail
        ? {
            [eventType === 'Rendering Failure' ? 'failure' : eventType.charAt(0).toLowerCase() + eventType.slice(1)]:
              detail,
          }
        : {}),
    },
  };
}

const ours = (id: string) => ({ delivery_id: [`d_${id}`], communication_id: ['c_ses'], attempt: ['2'] });

const post = (m: Sns | string) =>
  h.app.http.inject({
    method: 'POST',
    url: '/v1/callbacks/ses',
    // SNS posts JSON with a text/plain content type.
    headers: {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': typeof m === 'string' ? 'Notification' : (m['Type'] ?? ''),
    },
    payload: typeof m === 'string' ? m : JSON.stringify(m),
  });

function subscription(topic = TOPIC, version: '1' | '2' = '1', subscribeHost = HOST) {
  const token = `2336412f37${rid()}`;
  return signSns(
    {
      Type: 'SubscriptionConfirmation',
      MessageId: `${rid()}-165545c9-2a5c-472c-8df2-7ff2be2b3b1b`,
      Token: token,
      TopicArn: topic,
      Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `https://${subscribeHost}/?Action=ConfirmSubscription&TopicArn=${topic}&Token=${token}`,
      Timestamp: new Date().toISOString(),
      SigningCertURL: CERT_URL,
    },
    version,
  );
}

describe('POST /v1/callbacks/ses (SNS)', () => {
  it('confirms a SubscriptionConfirmation (signature v1) by GETting its SubscribeURL, storing nothing', async () => {
    const m = subscription();
    await expectNothingStored(h, async () => {
      const res = await post(m);
      expect(res.statusCode).toBe(200);
    });
    expect(hits).toContain(`/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${m['Token']}`);
  });

  it('refuses a SubscriptionConfirmation for a topic we do not expect, without confirming it', async () => {
    const m = subscription('arn:aws:sns:us-east-1:123456789012:someone-else', '2');
    await expectNothingStored(h, async () => expect((await post(m)).statusCode).toBe(401));
    expect(hits.some((u) => u.includes(m['Token']!))).toBe(false);
  });

  it('refuses a SubscriptionConfirmation whose SubscribeURL is not an SNS host', async () => {
    const m = subscription(TOPIC, '2', 'evil.example.com');
    expect((await post(m)).statusCode).toBe(401);
    expect(hits.some((u) => u.includes(m['Token']!))).toBe(false);
  });

  it.each(['1', '2'] as const)(
    'stores and publishes a Delivery event (signature v%s) with our tags',
    async (version) => {
      const id = rid();
      const { messageId, record } = sesRecord(
        'Delivery',
        {
          timestamp: '2017-08-05T00:41:02.669Z',
          processingTimeMillis: 657,
          recipients: ['recipient@example.com'],
          smtpResponse: '250 2.6.0 Message received',
          reportingMTA: 'mta.example.com',
        },
        ours(id),
      );
      const m = notification(record, { version });
      expect((await post(m)).statusCode).toBe(202);
      await h.settled();
      const [stored] = await h.events(`provider:ses:${m['MessageId']}`);
      expect(stored?.msgId).toBe(`provider:ses:${m['MessageId']}`);
      expect(stored?.event).toMatchObject({
        deliveryId: `d_${id}`,
        communicationId: 'c_ses',
        attempt: 2,
        channel: Channel.CHANNEL_EMAIL,
        status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
        provider: 'ses',
        providerEventType: 'Delivery',
        providerMessageId: messageId,
        reasonText: '250 2.6.0 Message received',
        occurredAt: new Date('2017-08-05T00:41:02.669Z'),
      });
      expect(await h.raw(`ses:${m['MessageId']}`)).toMatchObject({
        provider: 'ses',
        body: JSON.stringify(m),
        type: 'Delivery',
      });
    },
  );

  it.each<[string, Record<string, unknown> | undefined, DeliveryStatus, string]>([
    ['Send', {}, DeliveryStatus.DELIVERY_STATUS_SENT, ''],
    ['Reject', { reason: 'Bad content' }, DeliveryStatus.DELIVERY_STATUS_NOT_SENT, 'provider_rejected'],
    [
      'Rendering Failure',
      { errorMessage: 'Attribute missing', templateName: 't' },
      DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      'provider_rejected',
    ],
    [
      'Bounce',
      {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [
          {
            emailAddress: 'recipient@example.com',
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: 'smtp; 550 5.1.1 user unknown',
          },
        ],
        timestamp: '2017-08-05T00:41:02.669Z',
      },
      DeliveryStatus.DELIVERY_STATUS_FAILED,
      'permanent_bounce',
    ],
    [
      'Bounce',
      { bounceType: 'Transient', bounceSubType: 'MailboxFull', bouncedRecipients: [] },
      DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
      'temporary_bounce',
    ],
    [
      'DeliveryDelay',
      { delayType: 'MailboxFull', timestamp: '2020-06-16T00:15:40.641Z' },
      DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
      'temporary_bounce',
    ],
    [
      'Open',
      { ipAddress: '192.0.2.1', timestamp: '2017-08-09T22:00:19.652Z', userAgent: 'Mozilla/5.0' },
      DeliveryStatus.DELIVERY_STATUS_READ,
      '',
    ],
    [
      'Complaint',
      { complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: 'recipient@example.com' }] },
      DeliveryStatus.DELIVERY_STATUS_FAILED,
      'complaint',
    ],
    [
      'Subscription',
      { newTopicPreferences: { unsubscribeAll: true, topicSubscriptionStatus: [] } },
      DeliveryStatus.DELIVERY_STATUS_OPTED_OUT,
      'unsubscribed',
    ],
  ])('maps %s (%o)', async (type, detail, status, reasonCode) => {
    const m = notification(sesRecord(type, detail, ours(rid())).record, { version: '2' });
    expect((await post(m)).statusCode).toBe(202);
    await h.settled();
    const [stored] = await h.events(`provider:ses:${m['MessageId']}`);
    expect(stored?.event).toMatchObject({ status, reasonCode, providerEventType: type });
  });

  it.each<[string, Record<string, unknown>]>([
    ['Click', { ipAddress: '192.0.2.1', link: 'https://example.org', linkTags: {} }],
    ['Complaint', { complaintFeedbackType: 'not-spam' }],
  ])('stores %s raw as unmapped and publishes nothing', async (type, detail) => {
    const before = await h.published();
    const unmapped = await h.metric('dlr_callbacks_unmapped_total', 'ses');
    const m = notification(sesRecord(type, detail, ours(rid())).record);
    expect((await post(m)).statusCode).toBe(202);
    await h.settled();
    expect(await h.raw(`ses:${m['MessageId']}`)).toMatchObject({ mapped: false });
    expect(await h.metric('dlr_callbacks_unmapped_total', 'ses')).toBe(unmapped + 1);
    expect(await h.published()).toBe(before);
  });

  it('publishes a redelivered notification once and fetches the certificate once', async () => {
    const m = notification(sesRecord('Delivery', { timestamp: '2017-08-05T00:41:02.669Z' }, ours(rid())).record);
    const before = await h.published();
    for (let i = 0; i < 3; i++) expect((await post(m)).statusCode).toBe(202);
    await h.settled();
    expect(await h.published()).toBe(before + 1);
    expect(hits.filter((u) => u.endsWith('.pem'))).toHaveLength(1);
  });

  it('parks an event without our tags and publishes it when dispatch reports the SES message ID', async () => {
    const { messageId, record } = sesRecord(
      'Bounce',
      { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [] },
      null,
    );
    const m = notification(record);
    const res = await post(m);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'accepted' });
    await h.settled();
    expect(await h.events(`provider:ses:${m['MessageId']}`)).toHaveLength(0);
    await h.dispatchSent({ provider: 'ses', providerMessageId: messageId, deliveryId: 'd_parkedses', attempt: 4 });
    const [released] = await eventually(async () => {
      const found = await h.events(`provider:ses:${m['MessageId']}`);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(released?.event).toMatchObject({
      deliveryId: 'd_parkedses',
      attempt: 4,
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
    });
  });

  describe('refuses without storing or publishing anything', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const good = () => notification(sesRecord('Delivery', {}, ours(rid())).record, { version: '2' });
    const resign = (m: Sns, version: '1' | '2' = '2') => signSns(m, version);
    it.each<[string, number, () => Sns | string]>([
      [
        'a certificate on a host that is not SNS',
        401,
        () => resign({ ...good(), SigningCertURL: 'https://evil.example.com/SimpleNotificationService-1.pem' }),
      ],
      [
        'a certificate on sns.attacker.amazonaws.com',
        401,
        () =>
          resign({ ...good(), SigningCertURL: 'https://sns.attacker.amazonaws.com/SimpleNotificationService-1.pem' }),
      ],
      [
        'a certificate on sns.us-east-1.amazonaws.com.cn',
        401,
        () =>
          resign({
            ...good(),
            SigningCertURL: 'https://sns.us-east-1.amazonaws.com.cn/SimpleNotificationService-1.pem',
          }),
      ],
      [
        'a certificate on sns.cn-north-1.amazonaws.com',
        401,
        () =>
          resign({ ...good(), SigningCertURL: 'https://sns.cn-north-1.amazonaws.com/SimpleNotificationService-1.pem' }),
      ],
      [
        'a certificate on sns.us-east-1.amazonaws.com:8443',
        401,
        () =>
          resign({
            ...good(),
            SigningCertURL: 'https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem',
          }),
      ],
      [
        'a certificate on sns.us-east-1.amazonaws.com.evil.example',
        401,
        () =>
          resign({
            ...good(),
            SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem',
          }),
      ],
      [
        'a certificate on xsns.us-east-1.amazonaws.com',
        401,
        () =>
          resign({ ...good(), SigningCertURL: 'https://xsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem' }),
      ],
      [
        'a certificate over plain http',
        401,
        () => resign({ ...good(), SigningCertURL: `http://${HOST}/SimpleNotificationService-1.pem` }),
      ],
      [
        'a TopicArn we do not expect',
        401,
        () =>
          notification(sesRecord('Delivery', {}, ours(rid())).record, {
            topic: 'arn:aws:sns:us-east-1:123456789012:nope',
          }),
      ],
      ['a signature by another key', 401, () => signSns({ ...good() }, '2', other)],
      [
        'a Timestamp older than the replay window (an hour)',
        401,
        () =>
          notification(sesRecord('Delivery', {}, ours(rid())).record, {
            timestamp: new Date(Date.now() - 3_601_000),
          }),
      ],
      [
        'a Timestamp further ahead than the replay window',
        401,
        () =>
          notification(sesRecord('Delivery', {}, ours(rid())).record, {
            timestamp: new Date(Date.now() + 3_601_000),
          }),
      ],
      [
        'a message changed after signing',
        401,
        () => ({
          ...good(),
          Message: JSON.stringify(sesRecord('Bounce', { bounceType: 'Permanent' }, ours('x')).record),
        }),
      ],
      ['a v1 signature labelled v2', 401, () => ({ ...resign(good(), '1'), SignatureVersion: '2' })],
      ['an unknown signature version', 400, () => ({ ...good(), SignatureVersion: '3' })],
      ['not JSON', 400, () => '{"Type":"Notification",'],
      [
        'no MessageId',
        400,
        () => {
          const { MessageId: _drop, ...rest } = good();
          return rest;
        },
      ],
      ['a signed Message that is not an SES record', 400, () => resign({ ...good(), Message: 'hello' })],
      [
        'an oversized body',
        413,
        () => notification({ ...sesRecord('Delivery', {}, ours(rid())).record, pad: 'x'.repeat(17_000) }),
      ],
    ])('%s → %i', async (_name, status, make) => {
      await expectNothingStored(h, async () => {
        const res = await post(make());
        expect(res.statusCode).toBe(status);
        expect(res.json()).toMatchObject({ error: expect.any(String) });
      });
    });
  });
});
