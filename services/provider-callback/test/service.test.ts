import { streamNames } from '@dlr/contracts';
import { connectMongo, connectNats, createLogger, startService } from '@dlr/platform';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';
import { isolation, serverUrls } from './helpers.js';

const { db, namespace } = isolation();

function env(overrides: Record<string, string> = {}) {
  const { natsUrl, mongoUri } = serverUrls();
  return {
    MONGODB_URI: mongoUri,
    MONGODB_DB: db,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: namespace,
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    SIMULATOR_WEBHOOK_SECRET: 'service-test-secret-0123456789',
    ...overrides,
  };
}

const start = (e: Record<string, string>) =>
  startService({ name: 'provider-callback', shape: configShape, env: e, migrate, build: buildApp });

describe('provider-callback as a service', () => {
  let running: Awaited<ReturnType<typeof start>> | undefined;
  afterAll(async () => {
    await running?.stop();
    const { natsUrl, mongoUri } = serverUrls();
    const logger = createLogger('cleanup', 'silent');
    const nats = await connectNats({ servers: natsUrl, name: 'cleanup', logger });
    for (const ns of [namespace, `${namespace}tw`])
      for (const name of Object.values(streamNames(ns))) await nats.jsm.streams.delete(name).catch(() => false);
    await nats.drain();
    const mongo = await connectMongo({ uri: mongoUri, dbName: db, logger, appName: 'cleanup' });
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.client
      .db(`${db}_tw`)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close();
  });

  it('starts, reports ready and exposes its counters on its admin port', async () => {
    running = await start(env());
    const ready = await fetch(`${running.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`${running.httpUrl}/metrics`)).status).toBe(404);
    const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
    expect(metrics).toContain('dlr_callbacks_unmapped_total{provider="simulator"} 0');
    expect(metrics).toContain('dlr_callbacks_received_total{provider="simulator"} 0');
  });

  it('refuses to start with a short webhook secret or a bad tolerance, naming the variables', async () => {
    await expect(start(env({ SIMULATOR_WEBHOOK_SECRET: 'short', CALLBACK_TOLERANCE_SECONDS: '-1' }))).rejects.toThrow(
      /SIMULATOR_WEBHOOK_SECRET[\s\S]*CALLBACK_TOLERANCE_SECONDS|CALLBACK_TOLERANCE_SECONDS[\s\S]*SIMULATOR_WEBHOOK_SECRET/,
    );
  });

  it('refuses to start Twilio callbacks without the public URL Twilio signs', async () => {
    const e = env({
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-0123456789',
      MONGODB_DB: `${db}_tw`,
      NATS_NAMESPACE: `${namespace}tw`,
    });
    await expect(start(e)).rejects.toThrow(/CALLBACK_PUBLIC_BASE_URL/);
  });
});
