// Answers do not wait on the store: with feedback-link's (private) FerretDB frozen by SIGSTOP, a
// recipient's acknowledgement and response are confirmed fast (committed to JetStream), and once the
// store thaws its consumer has stored them.
import { randomBytes } from 'node:crypto';
import { LinkContent, streamNames, subjects } from '@dlr/contracts';
import { parseLinkKeys, signLink, type LinkAction } from '@dlr/links';
import { createLogger, publishDurable, type BuiltApp, type MongoHandle, type NatsHandle } from '@dlr/platform';
import { startPrivateServer, type PrivateServer } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, isolation, serverUrls, storedEvents, startFeedbackLink } from './helpers.js';

const KEY = `k1:${'f'.repeat(40)}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const { db, namespace } = isolation();
const logger = createLogger('feedback-link-test', 'silent');

let store: PrivateServer;
let mongo: MongoHandle;
let nats: NatsHandle;
let app: BuiltApp;

beforeAll(async () => {
  store = await startPrivateServer('mongo');
  ({ mongo, nats, app } = await startFeedbackLink({
    mongoUri: store.url,
    natsUrl: serverUrls().natsUrl,
    db,
    namespace,
    linkKeys: KEY,
    logger,
  }));
}, 60_000);

afterAll(async () => {
  store?.thaw();
  await app?.stopConsuming?.();
  await app?.http.close();
  for (const name of Object.values(streamNames(namespace))) await nats?.jsm.streams.delete(name).catch(() => false);
  await mongo?.close();
  await nats?.drain();
  await store?.stop();
});

describe('a frozen store', () => {
  it('does not hold up answers: confirmed after the commit, stored once the store thaws', async () => {
    const now = Math.floor(Date.now() / 1000);
    const communicationId = `c_${randomBytes(8).toString('hex')}`;
    const content = LinkContent.fromPartial({
      communicationId,
      title: 'Flood warning',
      emailBody: 'The river is rising.',
      responseOptions: ['Safe', 'Need help'],
      publishedAt: new Date(),
    });
    await publishDurable(
      nats.js,
      subjects(namespace).linkContent(communicationId),
      LinkContent.encode(content).finish(),
      `link-content:${communicationId}`,
    );
    const link = (deliveryId: string, action: LinkAction) =>
      `/a/${signLink(
        { deliveryId, communicationId, channel: 'email', action, issuedAt: now - 60, expiresAt: now + 3_600 },
        parseLinkKeys(KEY),
      )}`;
    const acks = Array.from({ length: 10 }, () => `d_${randomBytes(8).toString('hex')}`);
    const responder = `d_${randomBytes(8).toString('hex')}`;

    store.freeze();
    const latencies: number[] = [];
    try {
      for (const deliveryId of acks) {
        const started = performance.now();
        const res = await app.http.inject({ method: 'POST', url: link(deliveryId, 'ack'), headers: FORM, payload: '' });
        latencies.push(performance.now() - started);
        expect(res.statusCode).toBe(200);
        expect(res.body).toContain('Thank you — your acknowledgement has been recorded.');
      }
      const started = performance.now();
      const res = await app.http.inject({
        method: 'POST',
        url: link(responder, 'respond'),
        headers: FORM,
        payload: 'option=1',
      });
      latencies.push(performance.now() - started);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('your response “Need help” has been recorded');
      // Each waited at most for the store's bounded lookup (100 ms) and the PubAck.
      expect(Math.max(...latencies), 'slowest answer, ms').toBeLessThan(1_000);
    } finally {
      store.thaw();
    }

    const events = await storedEvents(nats.jsm, namespace, subjects(namespace).deliveryEventsFrom('feedback'));
    expect(events).toHaveLength(acks.length + 1);
    const feedback = mongo.db.collection<{ _id: string }>('feedback');
    await eventually(async () => {
      for (const deliveryId of acks)
        expect(await feedback.findOne({ _id: `${deliveryId}:ack` }), deliveryId).not.toBeNull();
      expect(await feedback.countDocuments({ deliveryId: responder, action: 'respond' })).toBe(1);
    }, 60_000);
  }, 120_000);
});
