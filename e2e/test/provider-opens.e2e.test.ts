// Provider open events, signed each provider's way, end as Read on the delivery record in reporting:
// SES `Open` (an SNS notification signed with a certificate), SendGrid `open` (ECDSA), Mailgun
// `opened` (HMAC). The system's provider-callback takes only webhooks here; an in-process replica with
// the three providers configured (and SNS's HTTPS routed to a local certificate server) consumes.
import { execFileSync } from 'node:child_process';
import { createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '@dlr/contracts';
import { startService, type RunningService } from '@dlr/platform';
import { buildApp, configShape, migrate } from '@dlr/provider-callback';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const SNS_HOST = 'sns.us-east-1.amazonaws.com';
const CERT_URL = `https://${SNS_HOST}/SimpleNotificationService-0000000000000000000000.pem`;
const MAILGUN_KEY = 'mailgun-signing-key-0123456789abcdef';
const sendgrid = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let system: RunningSystem;
let api: CommunicationApi;
let callbacks: RunningService<unknown>;
let certServer: Server;
let certDir: string;
let snsKey: KeyObject;

beforeAll(async () => {
  // SNS's signing certificate: a self-signed one for SNS's host, served locally.
  certDir = mkdtempSync(join(tmpdir(), 'e2e-sns-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${SNS_HOST}`].concat([
      '-keyout',
      join(certDir, 'key.pem'),
      '-out',
      join(certDir, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  snsKey = createPrivateKey(readFileSync(join(certDir, 'key.pem')));
  const cert = readFileSync(join(certDir, 'cert.pem'), 'utf8');
  certServer = createServer((req, res) =>
    req.url?.endsWith('.pem')
      ? void res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert)
      : void res.writeHead(404).end(),
  );
  await new Promise<void>((resolve) => certServer.listen(0, '127.0.0.1', resolve));
  const certPort = (certServer.address() as AddressInfo).port;

  system = await startE2eSystem('opens', { extraEnv: { 'provider-callback': { CALLBACK_ROLE: 'webhooks' } } });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  callbacks = await startService({
    name: 'provider-callback',
    shape: configShape,
    migrate,
    build: (deps) =>
      buildApp(deps, {
        // Any https://<host>/<path> of SNS is fetched from the local certificate server.
        snsHttp: {
          get: async (url) => {
            const res = await fetch(`http://127.0.0.1:${certPort}${url.pathname}${url.search}`);
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            return res.text();
          },
        },
      }),
    env: {
      NATS_URL: process.env.NATS_URL!,
      MONGODB_URI: process.env.MONGODB_URI!,
      MONGODB_DB: `${system.namespace.replaceAll('-', '_')}_provider_callback`,
      NATS_NAMESPACE: system.namespace,
      HOST: '127.0.0.1',
      HTTP_PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'silent',
      OPERATOR_TOKEN: system.operatorToken,
      // Its parser reads the simulator's callbacks the system's webhook committed (it verified them).
      SIMULATOR_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
      SES_SNS_TOPIC_ARNS: TOPIC,
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
    },
  });
});

afterAll(async () => {
  api?.close();
  await callbacks?.stop();
  if (system) await system.stop();
  await new Promise((resolve) => certServer?.close(resolve));
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

interface Ids {
  deliveryId: string;
  communicationId: string;
}

const post = (provider: string, body: string, headers: Record<string, string>) =>
  fetch(`${callbacks.httpUrl}/v1/callbacks/${provider}`, { method: 'POST', headers, body });

/** An SNS Notification carrying an SES Open record, signed as SNS signs (v1: RSA-SHA1 over the fields). */
function sesOpen(ids: Ids, key: KeyObject = snsKey): Promise<Response> {
  const at = new Date().toISOString();
  const m: Record<string, string> = {
    Type: 'Notification',
    MessageId: `${randomBytes(8).toString('hex')}-4d12-a87d-dd0099a07f8a`,
    TopicArn: TOPIC,
    Subject: 'Amazon SES Email Event Notification',
    Message: JSON.stringify({
      eventType: 'Open',
      mail: {
        timestamp: at,
        source: 'Alerts <alerts@example.org>',
        messageId: `0100${randomBytes(8).toString('hex')}-000000`,
        destination: ['delivered.ses@example.org'],
        tags: { delivery_id: [ids.deliveryId], communication_id: [ids.communicationId], attempt: ['1'] },
      },
      open: { ipAddress: '192.0.2.1', timestamp: at, userAgent: 'Mozilla/5.0' },
    }),
    Timestamp: at,
    SigningCertURL: CERT_URL,
    UnsubscribeURL: `https://${SNS_HOST}/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:1`,
    SignatureVersion: '1',
  };
  const text = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'].map((f) => `${f}\n${m[f]}\n`);
  m['Signature'] = sign('sha1', Buffer.from(text.join('')), key).toString('base64');
  return post('ses', JSON.stringify(m), {
    'content-type': 'text/plain; charset=UTF-8',
    'x-amz-sns-message-type': 'Notification',
  });
}

/** A SendGrid Event Webhook batch with one `open`, signed with ECDSA over timestamp + body. */
function sendgridOpen(ids: Ids, key: KeyObject = sendgrid.privateKey): Promise<Response> {
  const body = JSON.stringify([
    {
      email: 'delivered.sendgrid@example.org',
      timestamp: Math.floor(Date.now() / 1000),
      event: 'open',
      sg_event_id: `open-${randomBytes(8).toString('hex')}`,
      sg_message_id: `${randomBytes(8).toString('hex')}.filterdrecv-1`,
      useragent: 'Mozilla/5.0',
      ip: '192.0.2.2',
      delivery_id: ids.deliveryId,
      communication_id: ids.communicationId,
      attempt: '1',
    },
  ]);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.from(timestamp + body), { key, dsaEncoding: 'der' });
  return post('sendgrid', body, {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': signature.toString('base64'),
    'x-twilio-email-event-webhook-timestamp': timestamp,
  });
}

/** A Mailgun `opened` webhook, signed with HMAC-SHA256 of timestamp + token. */
function mailgunOpened(ids: Ids, key = MAILGUN_KEY): Promise<Response> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const token = randomBytes(25).toString('hex');
  const id = randomBytes(8).toString('hex');
  const body = JSON.stringify({
    signature: {
      timestamp,
      token,
      signature: createHmac('sha256', key)
        .update(timestamp + token)
        .digest('hex'),
    },
    'event-data': {
      id: `mg${id}`,
      timestamp: Date.now() / 1000,
      'log-level': 'info',
      event: 'opened',
      recipient: 'delivered.mailgun@example.org',
      message: { headers: { 'message-id': `2026${id}@mg.example.org` } },
      'user-variables': { delivery_id: ids.deliveryId, communication_id: ids.communicationId, attempt: '1' },
    },
  });
  return post('mailgun', body, { 'content-type': 'application/json' });
}

async function statusLabel(deliveryId: string): Promise<string> {
  const res = await fetch(`${system.reportingUrl}/api/v1/delivery-records/${deliveryId}`, {
    headers: { authorization: `Bearer ${system.viewerToken}` },
  });
  if (!res.ok) throw new Error(`record → ${res.status}`);
  return ((await res.json()) as { record: { statusLabel: string } }).record.statusLabel;
}

describe('provider open callbacks', () => {
  it('SES Open, SendGrid open and Mailgun opened, each signed its way, make the record Read', async () => {
    const created = await api.create({
      title: 'Flood warning',
      emailSubject: 'Flood warning',
      emailBody: 'Move to higher ground.',
      smsText: '',
      channels: [Channel.CHANNEL_EMAIL],
      acknowledgementRequested: false,
      responseOptions: [],
    });
    const communicationId = created.communication!.id;
    const added = await api.addRecipients({
      communicationId,
      recipients: ['ses', 'sendgrid', 'mailgun'].map((p) => ({
        externalId: p,
        name: p,
        email: `delivered.${p}@example.org`,
        phone: '',
      })),
    });
    await api.send({ communicationId });
    const [ses, sendgridIds, mailgun] = added.deliveries.map((d) => ({ deliveryId: d.deliveryId, communicationId }));
    for (const d of added.deliveries)
      await eventually(async () => expect(await statusLabel(d.deliveryId)).toBe('Delivered'), 60_000, 250);

    // Signed with another key: refused, nothing recorded.
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    for (const [name, send] of [
      ['ses', () => sesOpen(ses!, stranger)],
      [
        'sendgrid',
        () => sendgridOpen(sendgridIds!, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
      ],
      ['mailgun', () => mailgunOpened(mailgun!, 'another-mailgun-key-0123456789abcdef')],
    ] as const)
      expect((await send()).status, name).toBe(401);
    for (const [name, send] of [
      ['ses', () => sesOpen(ses!)],
      ['sendgrid', () => sendgridOpen(sendgridIds!)],
      ['mailgun', () => mailgunOpened(mailgun!)],
    ] as const) {
      const res = await send();
      expect(res.status, `${name}: ${await res.clone().text()}`).toBeLessThan(300);
    }
    for (const d of [ses!, sendgridIds!, mailgun!])
      await eventually(async () => expect(await statusLabel(d.deliveryId)).toBe('Read'), 60_000, 250);
  });
});
