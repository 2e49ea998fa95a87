import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { SmtpProvider } from '../../src/adapters/providers/smtp.js';
import { ProviderRejectedError, ProviderUnavailableError } from '../../src/domain/provider.js';
import { eventually, present } from '@dlr/testing';
import { outbound, sendRequest, startDispatch, UNSUBSCRIBE_HEADERS, type DispatchUnderTest } from './harness.js';

const user = 'dlr-test';
const password = 'smtp-test-password-0123';
const root = path.resolve(import.meta.dirname, '../..');

interface Delivered {
  raw: Buffer;
  from: string;
  to: string[];
  user: string;
}

let server: ChildProcess;
let port = 0;
const delivered: Delivered[] = [];

beforeAll(async () => {
  // A real SMTP server (smtp-server) in its own process, requiring authentication.
  server = spawn(path.resolve(root, '../../node_modules/.bin/tsx'), ['test/peers/smtp-server.ts'], {
    cwd: root,
    env: { ...process.env, SMTP_PEER_USER: user, SMTP_PEER_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: server.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as {
      listening?: number;
      message?: string;
      from?: string;
      to?: string[];
      user?: string;
    };
    if (event.listening !== undefined) port = event.listening;
    if (event.message !== undefined) {
      delivered.push({
        raw: Buffer.from(event.message, 'base64'),
        from: event.from!,
        to: event.to!,
        user: event.user!,
      });
    }
  });
  await eventually(() => expect(port, 'SMTP peer port').toBeGreaterThan(0), 30_000);
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
});

const adapters: SmtpProvider[] = [];
afterAll(() => {
  for (const a of adapters) a.close();
});

function adapter(pass = password): SmtpProvider {
  const a = new SmtpProvider({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTls: false,
    auth: { user, pass },
    from: 'Alerts <alerts@test.example>',
    maxConnections: 2,
    timeoutMs: 5_000,
  });
  adapters.push(a);
  return a;
}

async function deliveredTo(address: string, after: number) {
  const found = await eventually(
    () =>
      present(
        delivered.slice(after).find((d) => d.to.includes(address)),
        `mail to ${address}`,
      ),
    10_000,
  );
  return { ...found, parsed: await simpleParser(found.raw) };
}

describe('SMTP adapter against a real SMTP server process', () => {
  it('authenticates and delivers from/to/subject/body with our ID headers and List-Unsubscribe; returns the Message-ID', async () => {
    const before = delivered.length;
    const message = outbound('email', 'someone@example.org', UNSUBSCRIBE_HEADERS);
    const { providerMessageId } = await adapter().send(message);
    const mail = await deliveredTo('someone@example.org', before);
    expect(mail.user).toBe(user);
    expect(mail.from).toBe('alerts@test.example');
    expect(mail.to).toEqual(['someone@example.org']);
    expect(mail.parsed.from?.value).toEqual([{ address: 'alerts@test.example', name: 'Alerts' }]);
    expect(mail.parsed.to).toMatchObject({ value: [{ address: 'someone@example.org' }] });
    expect(mail.parsed.subject).toBe('Flood warning: move to higher ground');
    expect(mail.parsed.text).toBe(message.body);
    // Both parts, as multipart/alternative (text first, then HTML).
    expect(mail.parsed.html).toBe(message.html);
    expect(mail.parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(mail.parsed.headers.get('x-dlr-delivery-id')).toBe(message.deliveryId);
    expect(mail.parsed.headers.get('x-dlr-communication-id')).toBe(message.communicationId);
    expect(mail.parsed.headers.get('x-dlr-attempt')).toBe('2');
    // As written on the wire (unfolded), not as mailparser interprets List-* fields.
    const lines = new Map(
      mail.parsed.headerLines.map((h) => [h.key, h.line.replace(/\r?\n(?=[ \t])/g, '').replace(/^[^:]+:\s*/, '')]),
    );
    expect(lines.get('list-unsubscribe')).toBe(UNSUBSCRIBE_HEADERS['List-Unsubscribe']);
    expect(lines.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail.parsed.messageId).toBe(`<${providerMessageId}>`);
  });

  it('a 5xx refusal of the recipient → ProviderRejectedError with the server’s words', async () => {
    const error = await adapter()
      .send(outbound('email', 'reject-5xx@example.org'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(error).toMatchObject({ code: 'smtp_550' });
    expect((error as ProviderRejectedError).text).toContain('does not exist');
  });

  it('a 5xx refusal after DATA → ProviderRejectedError', async () => {
    const error = await adapter()
      .send(outbound('email', 'reject-data@example.org'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProviderRejectedError', code: 'smtp_554' });
  });

  it('a 4xx answer → ProviderUnavailableError (try again later)', async () => {
    const error = await adapter()
      .send(outbound('email', 'busy-4xx@example.org'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error).toMatchObject({ kind: 'smtp_451' });
  });

  it('wrong credentials (535) → ProviderRejectedError', async () => {
    const error = await adapter('wrong')
      .send(outbound('email', 'someone@example.org'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ProviderRejectedError', code: 'smtp_535' });
  });

  it('no server → ProviderUnavailableError', async () => {
    const closed = new SmtpProvider({
      host: '127.0.0.1',
      port: 9,
      secure: false,
      requireTls: false,
      from: 'alerts@test.example',
      maxConnections: 1,
      timeoutMs: 2_000,
    });
    adapters.push(closed);
    const error = await closed.send(outbound('email', 'someone@example.org')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
  });
});

describe('dispatch with EMAIL_PROVIDER=smtp (real NATS + MongoDB)', () => {
  let dispatch: DispatchUnderTest;
  beforeAll(async () => {
    dispatch = await startDispatch({
      EMAIL_PROVIDER: 'smtp',
      SIMULATOR_URL: 'http://127.0.0.1:9',
      SIMULATOR_API_KEY: 'unused',
      EMAIL_FROM: 'alerts@test.example',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(port),
      SMTP_REQUIRE_TLS: 'false',
      SMTP_USER: user,
      SMTP_PASSWORD: password,
    });
  });
  afterAll(async () => {
    await dispatch?.stop();
  });

  it('Sent with provider "smtp" and the Message-ID of the delivered mail', async () => {
    const before = delivered.length;
    const req = sendRequest('email', 'dispatch@example.org', true);
    await dispatch.publish(req);
    const event = await dispatch.eventOf(req.deliveryId);
    expect(event).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT, provider: 'smtp' });
    const mail = await deliveredTo('dispatch@example.org', before);
    expect(mail.parsed.messageId).toBe(`<${event.providerMessageId}>`);
    expect(mail.parsed.headers.get('x-dlr-delivery-id')).toBe(req.deliveryId);
    expect(mail.parsed.text).toMatch(
      /^The river is rising\. Move to higher ground now\.\n\nAcknowledge receipt: https:\/\//,
    );
  });

  it('Not Sent provider_rejected for a 5xx, provider_unavailable after retrying a 4xx', async () => {
    const rejected = sendRequest('email', 'reject-5xx@example.org');
    const busy = sendRequest('email', 'busy-4xx@example.org');
    await dispatch.publish(rejected);
    await dispatch.publish(busy);
    expect(await dispatch.eventOf(rejected.deliveryId)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      provider: 'smtp',
      reasonCode: 'provider_rejected',
      providerEventType: 'smtp_550',
    });
    expect(await dispatch.eventOf(busy.deliveryId)).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      provider: 'smtp',
      reasonCode: 'provider_unavailable',
      providerEventType: 'smtp_451',
    });
  });
});
