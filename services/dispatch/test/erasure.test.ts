// dispatch's part of erasing a person: the attempts of their deliveries are marked erased and the
// provider's words (a bounce text may quote the address) replaced; other attempts are untouched.
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerNames, erasureHash, newErasureSalt, PersonErased, streamNames, subjects } from '@dlr/contracts';
import {
  connectNats,
  createLogger,
  publishDurable,
  startService,
  type NatsHandle,
  type RunningService,
} from '@dlr/platform';
import { buildSimulator, type Simulator } from '@dlr/provider-simulator';
import { eventually } from '@dlr/testing';
import { buildApp, configShape, migrate } from '../src/index.js';

const ns = `terase${randomBytes(4).toString('hex')}`;
const apiKey = randomBytes(16).toString('hex');
const logger = createLogger('erasure-test', 'silent');

let sim: Simulator;
let service: RunningService<unknown>;
let nats: NatsHandle;
let mongo: MongoClient;

beforeAll(async () => {
  const { NATS_URL, MONGODB_URI } = process.env;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  sim = await buildSimulator({ apiKey, webhookSecret: 'w'.repeat(32), callbackDelayMs: 600_000 }, logger);
  const simUrl = await sim.app.listen({ host: '127.0.0.1', port: 0 });
  nats = await connectNats({ servers: NATS_URL, name: 'test', logger });
  mongo = await new MongoClient(MONGODB_URI).connect();
  service = await startService({
    name: 'dispatch',
    shape: configShape,
    migrate,
    build: buildApp,
    env: {
      NATS_URL,
      MONGODB_URI,
      MONGODB_DB: `t_${ns}`,
      NATS_NAMESPACE: ns,
      HTTP_PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'silent',
      SIMULATOR_URL: simUrl,
      SIMULATOR_API_KEY: apiKey,
      PROVIDER_CALLBACK_URL: 'http://127.0.0.1:9',
      FEEDBACK_BASE_URL: 'https://feedback.test.example',
      SHORT_LINK_BASE_URL: 'https://alert.example.org',
      LINK_SIGNING_KEYS: `k1:${randomBytes(24).toString('base64url')}`,
    },
  });
});

afterAll(async () => {
  await service?.stop();
  for (const name of Object.values(streamNames(ns))) await nats?.jsm.streams.delete(name).catch(() => false);
  await mongo
    ?.db(`t_${ns}`)
    .dropDatabase()
    .catch(() => undefined);
  await mongo?.close();
  await nats?.drain();
  await sim?.app.close();
});

describe('erasure', () => {
  it("marks the person's attempts erased and replaces the provider's words, once", async () => {
    const attempts = mongo.db(`t_${ns}`).collection<Record<string, unknown> & { _id: string }>('attempts');
    const base = {
      communicationId: 'c_1',
      attempt: 1,
      channel: 'email',
      createdAt: new Date(),
      finishedAt: new Date(),
    };
    await attempts.insertMany([
      { ...base, _id: 'd_zoe:1', deliveryId: 'd_zoe', state: 'not_sent', reasonText: '550 zoe@example.org unknown' },
      { ...base, _id: 'd_zoe:2', deliveryId: 'd_zoe', attempt: 2, state: 'sent', providerMessageId: 'm2' },
      { ...base, _id: 'd_ann:1', deliveryId: 'd_ann', state: 'not_sent', reasonText: '550 ann@example.org unknown' },
    ]);
    const salt = newErasureSalt();
    const publish = (erasureId: string) =>
      publishDurable(
        nats.js,
        subjects(ns).personErased,
        PersonErased.encode(
          PersonErased.fromPartial({
            erasureId,
            deliveryIds: ['d_zoe'],
            communicationIds: ['c_1'],
            salt,
            addressHashes: [erasureHash(salt, 'email', 'zoe@example.org')],
            erasedAt: new Date(),
          }),
        ).finish(),
        `person-erased:${erasureId}`,
      );
    const applied = () =>
      eventually(async () => {
        const info = await nats.jsm.consumers.info(streamNames(ns).communication, consumerNames.dispatchErasure);
        expect({ pending: info.num_pending, ack: info.num_ack_pending }).toEqual({ pending: 0, ack: 0 });
      }, 15_000);
    await publish('er-1');
    await eventually(async () => expect((await attempts.findOne({ _id: 'd_zoe:2' }))?.['erased']).toBe(true), 15_000);
    await applied();
    const after = await attempts.find({}).sort({ _id: 1 }).toArray();
    expect(after.find((a) => a._id === 'd_zoe:1')).toMatchObject({ erased: true, reasonText: '[erased]' });
    expect(after.find((a) => a._id === 'd_ann:1')).not.toHaveProperty('erased');
    expect(JSON.stringify(after)).not.toContain('zoe@');
    await publish('er-2');
    await eventually(async () => {
      const info = await nats.jsm.consumers.info(streamNames(ns).communication, consumerNames.dispatchErasure);
      expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(2);
    }, 15_000);
    expect(await attempts.find({}).sort({ _id: 1 }).toArray()).toEqual(after);
  });
});
