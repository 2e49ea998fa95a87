// provider-callback's part of erasing a person (raw callbacks quoting their address lose their body)
// and its retention (TTL indexes on MongoDB; on FerretDB v1, which refuses them, its own sweep).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerNames, erasureHash, newErasureSalt, PersonErased, streamNames, subjects } from '@dlr/contracts';
import { publishDurable } from '@dlr/platform';
import { migrate } from '../src/app.js';
import { startHarness, type Harness } from './harness.js';
import { eventually } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    SIMULATOR_WEBHOOK_SECRET: 'test-simulator-secret-0123456789',
    RAW_CALLBACK_RETENTION_SECONDS: '3600',
    PARKED_CALLBACK_RETENTION_SECONDS: String(8 * 86_400),
    RETENTION_SWEEP_SECONDS: '1',
  });
});
afterAll(async () => {
  await h?.close();
});

const raws = () => h.mongo.db.collection<Record<string, unknown> & { _id: string }>('raw_callbacks');

function raw(id: string, provider: string, body: string, query?: string) {
  return {
    _id: id,
    provider,
    eventId: id.split(':')[1]!,
    receivedAt: new Date(),
    body,
    ...(query === undefined ? {} : { query }),
    type: 'delivered',
    mapped: true,
  };
}

describe('erasure of raw callbacks', () => {
  it('replaces the body of every raw callback holding one of the addresses, and only those; twice changes nothing', async () => {
    const docs = [
      // SES: the address in the recipients and in the To header with the display name.
      raw(
        'ses:e1',
        'ses',
        JSON.stringify({
          eventType: 'Delivery',
          mail: { destination: ['zoe@example.org'], commonHeaders: { to: ['Zoe Quill <Zoe@Example.org>'] } },
        }),
      ),
      // Twilio: a form body, the number URL-encoded; our IDs in the query string.
      raw('twilio:e2', 'twilio', 'MessageStatus=delivered&To=%2B61400779992&From=%2B61400000000', 'd=d_1&c=c_1'),
      raw('sendgrid:e3', 'sendgrid', JSON.stringify({ email: 'ann@example.org', event: 'delivered' })),
      raw('twilio:e4', 'twilio', 'MessageStatus=delivered&To=%2B61400889991'),
    ];
    await raws().insertMany(docs);
    const salt = newErasureSalt();
    const event = PersonErased.fromPartial({
      erasureId: 'er-1',
      deliveryIds: ['d_1'],
      communicationIds: ['c_1'],
      salt,
      addressHashes: [erasureHash(salt, 'email', 'zoe@example.org'), erasureHash(salt, 'sms', '+61400779992')],
      nameHashes: [erasureHash(salt, 'name', 'Zoe Quill')],
      erasedAt: new Date(),
    });
    const publish = (id: string) =>
      publishDurable(
        h.nats.js,
        subjects(h.namespace).personErased,
        PersonErased.encode({ ...event, erasureId: id }).finish(),
        `person-erased:${id}`,
      );
    await publish('er-1');
    await eventually(async () => expect((await raws().findOne({ _id: 'twilio:e2' }))?.['erased']).toBe(true), 15_000);
    const after = await raws().find({}).sort({ _id: 1 }).toArray();
    const byId = new Map(after.map((d) => [d._id, d]));
    for (const id of ['ses:e1', 'twilio:e2']) {
      expect(byId.get(id)).toMatchObject({ provider: id.split(':')[0], body: '[erased]', erased: true, mapped: true });
      expect(byId.get(id)).not.toHaveProperty('query');
    }
    expect(byId.get('sendgrid:e3')).toEqual(docs[2]);
    expect(byId.get('twilio:e4')).toEqual(docs[3]);
    const text = JSON.stringify(after);
    for (const secret of ['zoe@', 'Zoe@', 'Quill', '61400779992']) expect(text).not.toContain(secret);

    // The same erasure again (a new ID, as a repeated request makes): nothing more changes.
    await publish('er-2');
    await eventually(async () => {
      const info = await h.nats.jsm.consumers.info(
        streamNames(h.namespace).communication,
        consumerNames.callbackErasure,
      );
      expect({ pending: info.num_pending, ack: info.num_ack_pending }).toEqual({ pending: 0, ack: 0 });
    }, 15_000);
    expect(await raws().find({}).sort({ _id: 1 }).toArray()).toEqual(after);
  });
});

describe('retention', () => {
  const indexOf = async (collection: string, name: string) =>
    (await h.mongo.db.collection(collection).indexes()).find((i) => i.name === name);

  it('makes receivedAt and parkedAt TTL indexes with the configured seconds (plain on FerretDB v1)', async () => {
    await migrate(h.mongo, { RAW_CALLBACK_RETENTION_SECONDS: 3_600, PARKED_CALLBACK_RETENTION_SECONDS: 8 * 86_400 });
    const rawIndex = await indexOf('raw_callbacks', 'receivedAt');
    const parkedIndex = await indexOf('parked_callbacks', 'parkedAt');
    expect(rawIndex?.key).toEqual({ receivedAt: 1 });
    expect(parkedIndex?.key).toEqual({ parkedAt: 1 });
    const ttl = /^FerretDB v?1\./.test(h.mongo.store.name) ? [undefined, undefined] : [3_600, 8 * 86_400];
    expect([rawIndex?.expireAfterSeconds, parkedIndex?.expireAfterSeconds], h.mongo.store.name).toEqual(ttl);
  });

  it('deletes raw and parked callbacks older than their retention, itself, and keeps newer ones', async () => {
    const old = new Date(Date.now() - 2 * 3_600_000);
    await raws().insertMany([
      { ...raw('simulator:old', 'simulator', '{}'), receivedAt: old },
      raw('simulator:new', 'simulator', '{}'),
    ]);
    const parked = h.mongo.db.collection<{ _id: string; parkedAt: Date }>('parked_callbacks');
    await parked.insertMany([
      { _id: 'simulator:p-old', parkedAt: new Date(Date.now() - 9 * 86_400_000) },
      { _id: 'simulator:p-new', parkedAt: new Date(Date.now() - 86_400_000) },
    ]);
    await eventually(async () => {
      expect(await raws().findOne({ _id: 'simulator:old' })).toBeNull();
      expect(await parked.findOne({ _id: 'simulator:p-old' })).toBeNull();
    }, 15_000);
    expect(await raws().findOne({ _id: 'simulator:new' })).not.toBeNull();
    expect(await parked.findOne({ _id: 'simulator:p-new' })).not.toBeNull();
  });
});
