// Two dispatch replicas on the same NATS and store share each provider's configured rate: together
// they hand the simulator messages at SIMULATOR_RATE_PER_SECOND (±10 %), not twice that.
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendRequested, subjects } from '@dlr/contracts';
import { createLogger, startService, type RunningService } from '@dlr/platform';
import { buildSimulator, type Simulator } from '@dlr/provider-simulator';
import { eventually } from '@dlr/testing';
import { buildApp, configShape, migrate } from '../src/index.js';
import { baseEnv, sendRequest } from './providers/harness.js';

const RATE = 20;
const MESSAGES = 200;
const apiKey = 'sim-rate-key';

let sim: Simulator;
let nc: NatsConnection;
const replicas: RunningService<unknown>[] = [];

beforeAll(async () => {
  if (!process.env['NATS_URL'] || !process.env['MONGODB_URI'])
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  // Callbacks are not what this test looks at: they are due long after it ends.
  sim = await buildSimulator(
    { apiKey, webhookSecret: 'sim-rate-webhook-secret-0123456789', callbackDelayMs: 600_000 },
    createLogger('simulator', 'silent'),
  );
  const simUrl = await sim.app.listen({ host: '127.0.0.1', port: 0 });
  nc = await connect({ servers: process.env['NATS_URL'] });
  const ns = `t${randomBytes(5).toString('hex')}`;
  const env = {
    ...baseEnv(ns),
    SIMULATOR_URL: simUrl,
    SIMULATOR_API_KEY: apiKey,
    SIMULATOR_RATE_PER_SECOND: String(RATE),
    // Small batches, so both replicas keep taking work.
    DISPATCH_BATCH_SIZE: '10',
  };
  for (let i = 0; i < 2; i++) {
    replicas.push(await startService({ name: 'dispatch', shape: configShape, migrate, build: buildApp, env }));
  }
  const js = jetstream(nc);
  const requests: SendRequested[] = Array.from({ length: MESSAGES }, (_, i) =>
    sendRequest(
      i % 2 === 0 ? 'email' : 'sms',
      i % 2 === 0 ? `r${i}@example.org` : `+6140030${String(i).padStart(4, '0')}`,
    ),
  );
  await Promise.all(
    requests.map((r) =>
      js.publish(subjects(ns).sendRequested, SendRequested.encode(r).finish(), {
        msgID: `send:${r.deliveryId}:${r.attempt}`,
      }),
    ),
  );
}, 60_000);

afterAll(async () => {
  for (const r of replicas) await r.stop();
  await nc?.close();
  await sim?.stop();
});

describe('provider rate shared by two dispatch replicas (real NATS KV + MongoDB-compatible server)', () => {
  it(`together they stay within ${RATE}/s ±10 % at the provider`, async () => {
    await eventually(() => expect(sim.messages().length).toBe(MESSAGES), 60_000);
    const at = sim
      .messages()
      .map((m) => Date.parse(m.acceptedAt))
      .sort((a, b) => a - b);
    // Past the first second (an idle bucket may hold up to 1/5 s of tokens), to the last arrival.
    const from = at[0]! + 1_000;
    const to = at[at.length - 1]!;
    const inWindow = at.filter((t) => t > from && t <= to).length;
    const rate = inWindow / ((to - from) / 1_000);
    expect(to - from, 'a window of several seconds').toBeGreaterThan(5_000);
    expect(rate).toBeGreaterThanOrEqual(RATE * 0.9);
    expect(rate).toBeLessThanOrEqual(RATE * 1.1);
  }, 90_000);
});
