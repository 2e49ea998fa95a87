import { streamNames } from '@dlr/contracts';
import { connectMongo, connectNats, createLogger, startService } from '@dlr/platform';
import { signLink, parseLinkKeys } from '@dlr/links';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';
import { isolation, serverUrls } from './helpers.js';

const { db, namespace } = isolation();
const KEYS = `k1:${'s'.repeat(40)}`;

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
    LINK_SIGNING_KEYS: KEYS,
    ...overrides,
  };
}

const start = (e: Record<string, string>) =>
  startService({ name: 'feedback-link', shape: configShape, env: e, migrate, build: buildApp });

describe('feedback-link as a service', () => {
  let running: Awaited<ReturnType<typeof start>> | undefined;
  afterAll(async () => {
    await running?.stop();
    const { natsUrl, mongoUri } = serverUrls();
    const logger = createLogger('cleanup', 'silent');
    const nats = await connectNats({ servers: natsUrl, name: 'cleanup', logger });
    for (const name of Object.values(streamNames(namespace))) await nats.jsm.streams.delete(name).catch(() => false);
    await nats.drain();
    const mongo = await connectMongo({ uri: mongoUri, dbName: db, logger, appName: 'cleanup' });
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  it('serves a link page over real HTTP and reports ready', async () => {
    running = await start(env());
    expect((await fetch(`${running.adminUrl}/readyz`)).status).toBe(200);
    const token = signLink(
      {
        deliveryId: 'd_svc1',
        communicationId: 'c_svc1',
        channel: 'email',
        action: 'ack',
        issuedAt: Math.floor(Date.now() / 1000) - 60,
        expiresAt: Math.floor(Date.now() / 1000) + 60,
      },
      parseLinkKeys(KEYS),
    );
    const page = await fetch(`${running.httpUrl}/a/${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Acknowledge this message');
    const done = await fetch(`${running.httpUrl}/a/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('your acknowledgement has been recorded');
  });

  it('refuses to start with bad LINK_SIGNING_KEYS, naming the variable but not the secret', async () => {
    const error = await start(env({ LINK_SIGNING_KEYS: 'k1:tooshortsecret' })).catch((e: unknown) => e);
    expect(String(error)).toContain('LINK_SIGNING_KEYS');
    expect(String(error)).not.toContain('tooshortsecret');
  });
});
