// feedback-link's part of erasing a person (names scrubbed from page content, answers marked erased)
// and the retention of page content (a TTL index on MongoDB; on FerretDB v1 its own sweep).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consumerNames,
  erasureHash,
  LinkContent,
  newErasureSalt,
  PersonErased,
  streamNames,
  subjects,
} from '@dlr/contracts';
import { createLogger, publishDurable, type BuiltApp, type MongoHandle, type NatsHandle } from '@dlr/platform';
import { eventually, isolation, serverUrls, startFeedbackLink } from './helpers.js';

const KEY = `k1:${'e'.repeat(40)}`;
const { db, namespace } = isolation();
let mongo: MongoHandle;
let nats: NatsHandle;
let app: BuiltApp;

beforeAll(async () => {
  ({ mongo, nats, app } = await startFeedbackLink({
    ...serverUrls(),
    db,
    namespace,
    linkKeys: KEY,
    logger: createLogger('feedback-test', 'silent'),
    env: { LINK_CONTENT_RETENTION_SECONDS: '3600', RETENTION_SWEEP_SECONDS: '1' },
  }));
});
afterAll(async () => {
  await app?.stopConsuming?.();
  await app?.http.close();
  for (const name of Object.values(streamNames(namespace))) await nats?.jsm.streams.delete(name).catch(() => false);
  await mongo?.db.dropDatabase().catch(() => undefined);
  await nats?.drain();
  await mongo?.close();
});

const contents = () => mongo.db.collection<Record<string, unknown> & { _id: string }>('link_content');
const feedback = () => mongo.db.collection<Record<string, unknown> & { _id: string }>('feedback');

async function erasureApplied(): Promise<void> {
  await eventually(async () => {
    const info = await nats.jsm.consumers.info(streamNames(namespace).communication, consumerNames.feedbackErasure);
    expect({ pending: info.num_pending, ack: info.num_ack_pending, delivered: info.delivered.stream_seq > 0 }).toEqual({
      pending: 0,
      ack: 0,
      delivered: true,
    });
  }, 15_000);
}

describe('erasure', () => {
  it('scrubs the name from page content, marks the answers erased, and a redelivered content does not bring it back', async () => {
    const content = LinkContent.fromPartial({
      communicationId: 'c_erase',
      title: 'Zoe Quill is your warden',
      emailBody: 'Call Zoe Quill.',
      smsText: 'Storm.',
      responseOptions: ['Safe', 'Need Zoe Quill'],
      acknowledgementRequested: true,
      publishedAt: new Date(),
    });
    const publishContent = () =>
      publishDurable(
        nats.js,
        subjects(namespace).linkContent('c_erase'),
        LinkContent.encode(content).finish(),
        `content:${Date.now()}:${Math.random()}`,
      );
    await publishContent();
    await eventually(async () => expect(await contents().findOne({ _id: 'c_erase' })).not.toBeNull(), 15_000);
    await feedback().insertMany([
      {
        _id: 'd_zoe:ack',
        deliveryId: 'd_zoe',
        communicationId: 'c_erase',
        action: 'ack',
        recordedAt: new Date(),
        via: 'page',
      },
      {
        _id: 'd_ann:ack',
        deliveryId: 'd_ann',
        communicationId: 'c_erase',
        action: 'ack',
        recordedAt: new Date(),
        via: 'page',
      },
    ]);

    const salt = newErasureSalt();
    const event = PersonErased.fromPartial({
      erasureId: 'er-f1',
      deliveryIds: ['d_zoe'],
      communicationIds: ['c_erase'],
      salt,
      addressHashes: [erasureHash(salt, 'email', 'zoe@example.org')],
      nameHashes: [erasureHash(salt, 'name', 'Zoe Quill')],
      erasedAt: new Date(),
    });
    await publishDurable(nats.js, subjects(namespace).personErased, PersonErased.encode(event).finish(), 'pe:er-f1');
    await erasureApplied();
    const page = await contents().findOne({ _id: 'c_erase' });
    expect(page).toMatchObject({
      title: '[erased] is your warden',
      emailBody: 'Call [erased].',
      responseOptions: ['Safe', 'Need [erased]'],
      erased: true,
    });
    expect((await feedback().findOne({ _id: 'd_zoe:ack' }))?.['erased']).toBe(true);
    expect(await feedback().findOne({ _id: 'd_ann:ack' })).not.toHaveProperty('erased');

    // The same content delivered again (a redelivery, a replay) does not overwrite the erased copy.
    await publishContent();
    await eventually(async () => {
      const info = await nats.jsm.consumers.info(streamNames(namespace).dispatch, consumerNames.feedbackLinkContent);
      expect(info.num_pending + info.num_ack_pending).toBe(0);
    }, 15_000);
    expect(await contents().findOne({ _id: 'c_erase' })).toEqual(page);
  });
});

describe('retention of page content', () => {
  it('makes publishedAt a TTL index with the configured seconds (plain on FerretDB v1) and sweeps older content', async () => {
    const index = (await contents().indexes()).find((i) => i.name === 'publishedAt');
    expect(index?.key).toEqual({ publishedAt: 1 });
    expect(index?.expireAfterSeconds, mongo.store.name).toBe(
      /^FerretDB v?1\./.test(mongo.store.name) ? undefined : 3_600,
    );
    await contents().insertMany([
      { _id: 'c_old', publishedAt: new Date(Date.now() - 2 * 3_600_000) },
      { _id: 'c_new', publishedAt: new Date() },
    ]);
    await eventually(async () => expect(await contents().findOne({ _id: 'c_old' })).toBeNull(), 15_000);
    expect(await contents().findOne({ _id: 'c_new' })).not.toBeNull();
  });
});
