// Fault case 7 of issue 14: an answer whose commit fails is never shown as done. NATS (a private
// server of this file) is stopped while the service runs, as a recipient would meet an outage.
import { randomBytes } from 'node:crypto';
import { systemTopology } from '@dlr/contracts';
import { parseLinkKeys, signLink } from '@dlr/links';
import {
  baseConfigShape,
  connectMongo,
  connectNats,
  createLogger,
  ensureTopology,
  loadConfig,
  type BuiltApp,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { startPrivateServer, type PrivateServer } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';
import { isolation, serverUrls } from './helpers.js';

const KEY = `k1:${'d'.repeat(40)}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const { db, namespace } = isolation();
const logger = createLogger('feedback-link-test', 'silent');

let natsServer: PrivateServer;
let mongo: MongoHandle;
let nats: NatsHandle;
let app: BuiltApp;

beforeAll(async () => {
  natsServer = await startPrivateServer('nats');
  const { mongoUri } = serverUrls();
  mongo = await connectMongo({ uri: mongoUri, dbName: db, logger, appName: 'test' });
  nats = await connectNats({ servers: natsServer.url, name: 'test', logger });
  const t = systemTopology(namespace);
  await ensureTopology(nats.jsm, t.streams, t.consumers);
  await migrate(mongo);
  const config = loadConfig(
    { ...baseConfigShape, ...configShape },
    {
      MONGODB_URI: mongoUri,
      MONGODB_DB: db,
      NATS_URL: natsServer.url,
      NATS_NAMESPACE: namespace,
      LOG_LEVEL: 'silent',
      LINK_SIGNING_KEYS: KEY,
    },
  );
  app = await buildApp({ config, logger, mongo, nats });
  await app.start?.();
}, 60_000);

afterAll(async () => {
  await app?.stopConsuming?.();
  await app?.http.close();
  await nats?.nc.close();
  await mongo?.db.dropDatabase().catch(() => undefined);
  await mongo?.close();
  await natsServer?.stop();
});

describe('NATS down', () => {
  it('an acknowledgement that could not be committed is answered "NOT recorded", and never shows as done', async () => {
    const now = Math.floor(Date.now() / 1000);
    const deliveryId = `d_${randomBytes(12).toString('hex')}`;
    const token = signLink(
      {
        deliveryId,
        communicationId: 'c_down',
        channel: 'email',
        action: 'ack',
        issuedAt: now - 60,
        expiresAt: now + 3_600,
      },
      parseLinkKeys(KEY),
    );
    const url = `/a/${token}`;
    await natsServer.stop();

    const started = performance.now();
    const res = await app.http.inject({ method: 'POST', url, headers: FORM, payload: '' });
    expect(performance.now() - started, 'answered within the 10 s bound').toBeLessThan(10_000);
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('Your answer has NOT been recorded');
    expect(res.body).not.toContain('Thank you');
    const page = await app.http.inject({ method: 'GET', url });
    expect(page.body).not.toContain('You acknowledged');
    expect(await mongo.db.collection('feedback').countDocuments({ deliveryId })).toBe(0);
  }, 30_000);
});
