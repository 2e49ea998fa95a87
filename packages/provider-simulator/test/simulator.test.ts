import { signSimulatorCallback } from '@dlr/contracts';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@dlr/platform';
import { eventually, present } from '@dlr/testing';
import { simpleParser } from 'mailparser';
import { buildSimulator, type Simulator, type SimulatorCallback, type SimulatorOutbox } from '../src/index.js';

const apiKey = 'test-api-key';
const webhookSecret = 'test-webhook-secret-0123456789';
const logger = createLogger('provider-simulator-test', 'silent');
const auth = { authorization: `Bearer ${apiKey}` };

interface Received {
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  validSignature: boolean;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/** A local receiver that records every callback and answers the statuses it is told, in order, then 200. */
async function startReceiver(statuses: number[] = []) {
  const received: Received[] = [];
  const app: FastifyInstance = Fastify();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post('/hook', async (request, reply) => {
    const rawBody = request.body as string;
    const timestamp = request.headers['x-simulator-timestamp'] as string | undefined;
    const signature = request.headers['x-simulator-signature'] as string | undefined;
    // Signed with our secret over this body, at a timestamp of the last minute.
    const validSignature =
      timestamp !== undefined &&
      Math.abs(Date.now() / 1000 - Number(timestamp)) < 60 &&
      signature === signSimulatorCallback(webhookSecret, timestamp, rawBody);
    received.push({
      rawBody,
      timestamp,
      signature,
      validSignature,
      traceparent: request.headers.traceparent as string | undefined,
      tracestate: request.headers.tracestate as string | undefined,
    });
    return reply.status(statuses.shift() ?? 200).send({ ok: true });
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, received, url: `${address}/hook` };
}

function sendBody(overrides: Record<string, unknown> = {}) {
  return {
    channel: 'email',
    to: 'delivered@example.org',
    subject: 'Flood warning',
    body: 'Move to higher ground.',
    callbackUrl: 'http://127.0.0.1:9/hook',
    metadata: { deliveryId: 'd_1', communicationId: 'c_1', attempt: 1 },
    ...overrides,
  };
}

describe('send API', () => {
  let sim: Simulator;
  beforeAll(async () => {
    // A long delay: these tests look at answers, not callbacks.
    sim = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 600_000 }, logger);
    await sim.app.ready();
  });
  afterAll(() => sim.stop());

  it('accepts a message with 202 and a message ID, and shows it in the outbox', async () => {
    const res = await sim.app.inject({ method: 'POST', url: '/v1/messages', headers: auth, payload: sendBody() });
    expect(res.statusCode).toBe(202);
    const { messageId } = res.json<{ messageId: string }>();
    expect(messageId).toMatch(/^sim_/);
    const outbox = await sim.app.inject({ method: 'GET', url: '/v1/messages?deliveryId=d_1', headers: auth });
    expect(outbox.statusCode).toBe(200);
    const { messages } = outbox.json<SimulatorOutbox>();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      messageId,
      channel: 'email',
      to: 'delivered@example.org',
      subject: 'Flood warning',
      body: 'Move to higher ground.',
      metadata: { deliveryId: 'd_1', communicationId: 'c_1', attempt: 1 },
      outcome: 'delivered',
      callbackStatus: 'pending',
    });
  });

  it('keeps an email’s HTML part and serves the message as RFC 5322 multipart/alternative', async () => {
    const html =
      '<!doctype html><html lang="en"><body><h1>Flood – warning</h1><img src="https://f.example/o/t" alt=""></body></html>';
    const res = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: auth,
      payload: sendBody({ html, metadata: { deliveryId: 'd_html', communicationId: 'c_1', attempt: 1 } }),
    });
    expect(res.statusCode).toBe(202);
    const { messageId } = res.json<{ messageId: string }>();
    const outbox = await sim.app.inject({
      method: 'GET',
      url: '/v1/messages?deliveryId=d_html&include=html',
      headers: auth,
    });
    expect(outbox.json<SimulatorOutbox>().messages[0]).toMatchObject({ body: 'Move to higher ground.', html });
    // Without include=html the list leaves the HTML part out (bulk polls stay small).
    const short = await sim.app.inject({ method: 'GET', url: '/v1/messages?deliveryId=d_html', headers: auth });
    expect(short.json<SimulatorOutbox>().messages[0]).not.toHaveProperty('html');
    expect(sim.messages().find((m) => m.messageId === messageId)).toMatchObject({ html });

    const raw = await sim.app.inject({ method: 'GET', url: `/v1/messages/${messageId}/raw`, headers: auth });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['content-type']).toMatch(/^message\/rfc822/);
    const parsed = await simpleParser(raw.rawPayload);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.subject).toBe('Flood warning');
    expect(parsed.text?.trim()).toBe('Move to higher ground.');
    expect(parsed.html).toBe(html);
    expect(parsed.to).toMatchObject({ value: [{ address: 'delivered@example.org' }] });

    // The key is required; an unknown ID (or an SMS) is 404.
    expect((await sim.app.inject({ method: 'GET', url: `/v1/messages/${messageId}/raw` })).statusCode).toBe(401);
    expect((await sim.app.inject({ method: 'GET', url: '/v1/messages/sim_x/raw', headers: auth })).statusCode).toBe(
      404,
    );
  });

  it('keeps the HTML parts of the newest htmlLimit emails only (memory); older ones keep their text', async () => {
    const small = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 600_000, htmlLimit: 2 }, logger);
    try {
      for (const n of [1, 2, 3]) {
        const res = await small.app.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: auth,
          payload: sendBody({
            html: `<p>${n}</p>`,
            metadata: { deliveryId: `d_h${n}`, communicationId: 'c_1', attempt: 1 },
          }),
        });
        expect(res.statusCode).toBe(202);
      }
      expect(small.messages().map((m) => [m.metadata.deliveryId, m.html, m.body])).toEqual([
        ['d_h1', undefined, 'Move to higher ground.'],
        ['d_h2', '<p>2</p>', 'Move to higher ground.'],
        ['d_h3', '<p>3</p>', 'Move to higher ground.'],
      ]);
    } finally {
      await small.stop();
    }
  });

  it('refuses an HTML part on an SMS', async () => {
    const res = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: auth,
      payload: sendBody({ channel: 'sms', to: '+61400239991', subject: undefined, html: '<p>x</p>' }),
    });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json())).toContain('html: is for email only');
  });

  it('refuses a reject address with 422 and the provider’s words, and does not keep it', async () => {
    for (const [channel, to] of [
      ['email', 'reject@example.org'],
      ['sms', '+61400239990'],
    ] as const) {
      const res = await sim.app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: auth,
        payload: sendBody({
          channel,
          to,
          metadata: { deliveryId: `d_rej_${channel}`, communicationId: 'c_1', attempt: 1 },
        }),
      });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ error: 'rejected', message: expect.any(String) });
    }
    const outbox = await sim.app.inject({ method: 'GET', url: '/v1/messages?to=reject@example.org', headers: auth });
    expect(outbox.json<SimulatorOutbox>().messages).toEqual([]);
  });

  it('refuses a missing or wrong key with 401, on both endpoints', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: apiKey }]) {
      const send = await sim.app.inject({ method: 'POST', url: '/v1/messages', headers, payload: sendBody() });
      expect(send.statusCode).toBe(401);
      const list = await sim.app.inject({ method: 'GET', url: '/v1/messages', headers });
      expect(list.statusCode).toBe(401);
    }
  });

  it('answers 400 to a malformed request, naming the fields', async () => {
    const cases = [
      sendBody({ channel: 'fax' }),
      sendBody({ callbackUrl: 'not a url' }),
      sendBody({ metadata: { deliveryId: 'd_1' } }),
      sendBody({ subject: undefined }),
      sendBody({ body: '' }),
    ];
    for (const payload of cases) {
      const res = await sim.app.inject({ method: 'POST', url: '/v1/messages', headers: auth, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ details: string[] }>().details.length).toBeGreaterThan(0);
    }
    const notJson = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"channel":',
    });
    expect(notJson.statusCode).toBe(400);
    const text = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(400);
  });

  it('answers 503 to the configured fraction of send calls', async () => {
    sim.setFailRate(1);
    try {
      const res = await sim.app.inject({ method: 'POST', url: '/v1/messages', headers: auth, payload: sendBody() });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'unavailable' });
      expect(sim.stats().unavailable).toBe(1);
    } finally {
      sim.setFailRate(0);
    }
  });
});

describe('callbacks', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('POSTs a signed callback with the outcome the magic address asked for', async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.app.close());
    const sim = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 50 }, logger);
    cleanup.push(() => sim.stop());
    const sent = [
      { channel: 'email', to: 'failed@example.org', expected: 'failed' },
      { channel: 'sms', to: '+61400239993', expected: 'bounce' },
      { channel: 'sms', to: '+61400239991', expected: 'delivered' },
    ] as const;
    const ids = new Map<string, string>();
    for (const [i, s] of sent.entries()) {
      const res = await sim.app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: auth,
        payload: sendBody({
          channel: s.channel,
          to: s.to,
          callbackUrl: receiver.url,
          metadata: { deliveryId: `d_cb${i}`, communicationId: 'c_cb', attempt: 2 },
        }),
      });
      expect(res.statusCode).toBe(202);
      ids.set(res.json<{ messageId: string }>().messageId, s.expected);
    }
    await eventually(() => expect(receiver.received.length).toBeGreaterThanOrEqual(sent.length));
    for (const r of receiver.received) {
      expect(r.validSignature).toBe(true);
      const cb = JSON.parse(r.rawBody) as SimulatorCallback;
      expect(cb.eventId).toMatch(/^sev_/);
      expect(cb.type).toBe(ids.get(cb.messageId));
      expect(cb.metadata).toMatchObject({ communicationId: 'c_cb', attempt: 2 });
      expect(new Date(cb.occurredAt).toISOString()).toBe(cb.occurredAt);
      if (cb.type === 'delivered') expect(cb.reason).toBeUndefined();
      else expect(cb.reason).toEqual(expect.any(String));
    }
    await eventually(() => expect(sim.messages().filter((m) => m.callbackStatus !== 'delivered')).toEqual([]));
  });

  it('retries a callback the receiver answered 500, with the same event and a fresh valid signature', async () => {
    const receiver = await startReceiver([500]);
    cleanup.push(() => receiver.app.close());
    const sim = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 20, callbackRetryBaseMs: 50 }, logger);
    cleanup.push(() => sim.stop());
    const res = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: auth,
      payload: sendBody({ callbackUrl: receiver.url }),
    });
    expect(res.statusCode).toBe(202);
    await eventually(() => expect(receiver.received.length).toBeGreaterThanOrEqual(2));
    const [first, second] = receiver.received;
    expect(first!.rawBody).toBe(second!.rawBody);
    expect(first!.validSignature && second!.validSignature).toBe(true);
    await eventually(() => expect(sim.messages()[0]?.callbackStatus).toBe('delivered'));
    expect(sim.messages()[0]?.callbackAttempts).toBe(2);
  });

  it('sends the trace context it was given back on every try of the callback, and drops a malformed one', async () => {
    const receiver = await startReceiver([500]);
    cleanup.push(() => receiver.app.close());
    const sim = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 20, callbackRetryBaseMs: 50 }, logger);
    cleanup.push(() => sim.stop());
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const traced = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...auth, traceparent, tracestate: 'dlr=1' },
      payload: sendBody({
        callbackUrl: receiver.url,
        metadata: { deliveryId: 'd_tr', communicationId: 'c_tr', attempt: 1 },
      }),
    });
    expect(traced.statusCode).toBe(202);
    await eventually(() => expect(receiver.received.length).toBeGreaterThanOrEqual(2));
    for (const r of receiver.received)
      expect(r).toMatchObject({ traceparent, tracestate: 'dlr=1', validSignature: true });

    const untraced = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...auth, traceparent: 'not-a-trace\r\nx-evil: 1' },
      payload: sendBody({
        callbackUrl: receiver.url,
        metadata: { deliveryId: 'd_un', communicationId: 'c_tr', attempt: 1 },
      }),
    });
    expect(untraced.statusCode).toBe(202);
    const last = await eventually(() =>
      present(
        receiver.received.find((r) => r.rawBody.includes('d_un')),
        'callback of d_un',
      ),
    );
    expect(last.traceparent).toBeUndefined();
    expect(last.tracestate).toBeUndefined();
  });

  it('retries when nobody listens, gives up after the configured tries', async () => {
    const sim = await buildSimulator(
      {
        apiKey,
        webhookSecret,
        callbackDelayMs: 10,
        callbackRetryBaseMs: 10,
        callbackRetryMaxMs: 20,
        callbackMaxAttempts: 3,
      },
      logger,
    );
    cleanup.push(() => sim.stop());
    // Port 9 (discard) is closed on test machines: connection refused.
    await sim.app.inject({ method: 'POST', url: '/v1/messages', headers: auth, payload: sendBody() });
    await eventually(() => expect(sim.messages()[0]?.callbackStatus).toBe('gave_up'));
    expect(sim.messages()[0]?.callbackAttempts).toBe(3);
  });

  it('sends nothing after stop()', async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.app.close());
    const sim = await buildSimulator({ apiKey, webhookSecret, callbackDelayMs: 300 }, logger);
    await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: auth,
      payload: sendBody({ callbackUrl: receiver.url }),
    });
    await sim.stop();
    expect(sim.messages()[0]?.callbackStatus).toBe('cancelled');
    // Wait well past the latest possible first callback (delay +50%).
    const until = Date.now() + 600;
    await eventually(() => expect(Date.now()).toBeGreaterThan(until));
    expect(receiver.received).toEqual([]);
  });
});
