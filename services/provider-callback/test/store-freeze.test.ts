// The webhook's answer does not wait on the store: with its (private) FerretDB frozen by SIGSTOP,
// callbacks keep being answered 202 fast; after SIGCONT every one is archived and published.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamNames, subjects, signSimulatorCallback } from '@dlr/contracts';
import { startPrivateServer, type PrivateServer } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { eventually } from './helpers.js';

const SECRET = 'test-webhook-secret-0123456789';
const FROZEN_CALLBACKS = 40;

let store: PrivateServer;
let h: Harness;

function post(body: string) {
  const timestamp = Math.floor(Date.now() / 1000);
  return h.app.http.inject({
    method: 'POST',
    url: '/v1/callbacks/simulator',
    headers: {
      'content-type': 'application/json',
      'x-simulator-timestamp': String(timestamp),
      'x-simulator-signature': signSimulatorCallback(SECRET, timestamp, body),
    },
    payload: body,
  });
}

function callback() {
  const id = randomBytes(6).toString('hex');
  return {
    eventId: `sev_${id}`,
    messageId: `sim_${id}`,
    type: 'delivered',
    occurredAt: '2025-03-01T10:00:00.250Z',
    metadata: { deliveryId: `d_${id}`, communicationId: 'c_freeze', attempt: 1 },
  };
}

beforeAll(async () => {
  store = await startPrivateServer('mongo');
  h = await startHarness({ SIMULATOR_WEBHOOK_SECRET: SECRET }, {}, { mongoUri: store.url });
}, 60_000);

afterAll(async () => {
  store?.thaw();
  await h?.close();
  await store?.stop();
});

describe('a frozen store', () => {
  it('does not slow the webhooks; what they committed is archived and published once it thaws', async () => {
    // Warm: the consumer has its store connection and has handled a callback end to end.
    const warm = callback();
    expect((await post(JSON.stringify(warm))).statusCode).toBe(202);
    await h.settled();
    expect(await h.raw(`simulator:${warm.eventId}`)).not.toBeNull();
    const publishedBefore = await h.published();

    store.freeze();
    const sent = Array.from({ length: FROZEN_CALLBACKS }, callback);
    const latencies: number[] = [];
    try {
      for (const cb of sent) {
        // Offered at ~8/s, so the store stays frozen for ~5 s of webhook traffic (pacing, not synchronization).
        await sleep(125);
        const started = performance.now();
        const res = await post(JSON.stringify(cb));
        latencies.push(performance.now() - started);
        expect(res.statusCode, 'answered while the store is frozen').toBe(202);
      }
      latencies.sort((a, b) => a - b);
      // Before this change each answer waited for the store: here it would never come while frozen.
      expect(latencies.at(-1), `slowest of ${FROZEN_CALLBACKS} answers, ms`).toBeLessThan(1_000);
      expect(latencies[Math.floor(latencies.length / 2)], 'median answer, ms').toBeLessThan(250);
      // Committed, not yet processed: the consumer is stuck on the store, nothing was published.
      expect(await h.published()).toBe(publishedBefore);
      const info = await h.nats.jsm.consumers.info(streamNames(h.namespace).callbacks, 'provider-callback-raw');
      expect(info.num_pending + info.num_ack_pending).toBeGreaterThan(0);
    } finally {
      store.thaw();
    }

    await eventually(async () => expect(await h.published()).toBe(publishedBefore + FROZEN_CALLBACKS), 60_000);
    await h.settled();
    for (const cb of sent) {
      expect(await h.raw(`simulator:${cb.eventId}`), cb.eventId).toMatchObject({ type: 'delivered', mapped: true });
      expect(await h.events(`provider:simulator:${cb.eventId}`), cb.eventId).toHaveLength(1);
    }
    const dead = await h.nats.jsm.streams.info(streamNames(h.namespace).deadLetter, {
      subjects_filter: subjects(h.namespace).deadLetter('>'),
    });
    expect(dead.state.messages, 'dead letters').toBe(0);
  }, 120_000);
});
