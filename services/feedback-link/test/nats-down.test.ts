// Fault case 7 of issue 14: an answer whose commit fails is never shown as done. NATS (a private
// server of this file) is stopped while the service runs, as a recipient would meet an outage.
import { randomBytes } from 'node:crypto';
import { parseLinkKeys, signLink } from '@dlr/links';
import { createLogger, type BuiltApp, type MongoHandle, type NatsHandle } from '@dlr/platform';
import { startPrivateServer, type PrivateServer } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolation, serverUrls, startFeedbackLink } from './helpers.js';

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
  ({ mongo, nats, app } = await startFeedbackLink({
    mongoUri: serverUrls().mongoUri,
    natsUrl: natsServer.url,
    db,
    namespace,
    linkKeys: KEY,
    logger,
  }));
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
