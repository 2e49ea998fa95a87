// A service stops within its grace period whatever is down: provider-callback, its store frozen
// (SIGSTOP) while its consumer is in the middle of archiving callbacks, stops within the 25 s budget.
import { randomBytes } from 'node:crypto';
import { streamNames, signSimulatorCallback } from '@dlr/contracts';
import { connectNats, createLogger, SHUTDOWN_BUDGET_MS, startService } from '@dlr/platform';
import { startPrivateServer, type PrivateServer } from '@dlr/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';
import { isolation, serverUrls } from './helpers.js';

const SECRET = 'stop-test-secret-0123456789';
const { db, namespace } = isolation();
let store: PrivateServer | undefined;

afterAll(async () => {
  await store?.stop();
  const logger = createLogger('cleanup', 'silent');
  const nats = await connectNats({ servers: serverUrls().natsUrl, name: 'cleanup', logger });
  for (const name of Object.values(streamNames(namespace))) await nats.jsm.streams.delete(name).catch(() => false);
  await nats.drain();
});

describe('stopping with the store frozen', () => {
  it('stops within its shutdown budget while its consumer waits on a frozen store', async () => {
    store = await startPrivateServer('mongo');
    const running = await startService({
      name: 'provider-callback',
      shape: configShape,
      migrate,
      build: buildApp,
      env: {
        MONGODB_URI: store.url,
        MONGODB_DB: db,
        NATS_URL: serverUrls().natsUrl,
        NATS_NAMESPACE: namespace,
        HTTP_PORT: '0',
        ADMIN_PORT: '0',
        LOG_LEVEL: 'silent',
        SIMULATOR_WEBHOOK_SECRET: SECRET,
      },
    });
    store.freeze();
    for (let i = 0; i < 5; i++) {
      const id = randomBytes(6).toString('hex');
      const body = JSON.stringify({
        eventId: `sev_${id}`,
        messageId: `sim_${id}`,
        type: 'delivered',
        occurredAt: '2025-03-01T10:00:00.250Z',
        metadata: { deliveryId: `d_${id}`, communicationId: 'c_stop', attempt: 1 },
      });
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await fetch(`${running.httpUrl}/v1/callbacks/simulator`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-simulator-timestamp': String(timestamp),
          'x-simulator-signature': signSimulatorCallback(SECRET, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status, 'committed while the store is frozen').toBe(202);
    }
    const started = performance.now();
    await running.stop();
    const took = performance.now() - started;
    // The budget plus the last steps' minimum (a tenth of a second each): within the 30 s grace period.
    expect(took, 'stop took, ms').toBeLessThan(SHUTDOWN_BUDGET_MS + 1_000);
    store.thaw();
  }, 60_000);
});
