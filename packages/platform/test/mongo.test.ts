import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bulkWriteEach,
  connectMongo,
  ensureIndexes,
  ensureTtlIndex,
  sweepExpired,
  isDuplicateKeyError,
  isTransient,
  UnavailableError,
  type MongoHandle,
} from '@dlr/platform';
import { startPrivateServer } from '@dlr/testing';
import { closedPort, infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const dbName = `t_${randomSuffix()}`;
let mongo: MongoHandle;

beforeAll(async () => {
  mongo = await connectMongo({ uri: infraUrls().mongoUri, dbName, logger: memoryLogger().logger, appName: 'test' });
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('connectMongo', () => {
  it('connects to the configured database and answers ping', async () => {
    expect(mongo.db.databaseName).toBe(dbName);
    await expect(mongo.ping()).resolves.toBeUndefined();
    await mongo.db.collection('things').insertOne({ _id: 'x' as never, n: 1 });
    expect(await mongo.db.collection('things').countDocuments()).toBe(1);
  });

  it('fails a call on a frozen store with a transient error at its socket deadline, not never', async () => {
    const store = await startPrivateServer('mongo');
    const frozen = await connectMongo({
      uri: store.url,
      dbName,
      logger: memoryLogger().logger,
      appName: 'test',
      socketTimeoutMS: 1_000,
    });
    try {
      await frozen.db.collection('things').insertOne({ _id: 'before' as never });
      store.freeze();
      const started = performance.now();
      const error: unknown = await frozen.db
        .collection('things')
        .insertOne({ _id: 'during' as never })
        .then(
          () => new Error('a frozen store answered'),
          (e: unknown) => e,
        );
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(isTransient(error), String(error)).toBe(true);
    } finally {
      store.thaw();
      await frozen.close().catch(() => undefined);
      await store.stop();
    }
  });

  it('fails with an UnavailableError naming host:port, never the password, when nothing listens', async () => {
    const port = await closedPort();
    const { logger, raw } = memoryLogger();
    const started = Date.now();
    const error: unknown = await connectMongo({
      uri: `mongodb://user:s3cretpw@127.0.0.1:${port}/`,
      dbName,
      logger,
      appName: 'test',
      attempts: 2,
    }).then(
      () => new Error('connected to a closed port'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    const message = (error as UnavailableError).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('MONGODB_URI');
    expect(message).not.toContain('s3cretpw');
    expect(message).not.toContain('user:');
    // The retry warning names the host too, without the credentials.
    expect(raw()).toContain('MongoDB not reachable yet; retrying');
    expect(raw()).not.toContain('s3cretpw');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('ensureIndexes / isDuplicateKeyError', () => {
  it('creates a unique index idempotently and recognises duplicate-key errors', async () => {
    const index = { key: { deliveryId: 1 }, name: 'deliveryId_unique', unique: true };
    await ensureIndexes(mongo.db, 'records', [index]);
    await ensureIndexes(mongo.db, 'records', [index]);
    await ensureIndexes(mongo.db, 'records', []);
    const names = (await mongo.db.collection('records').indexes()).map((i) => i.name);
    expect(names).toContain('deliveryId_unique');

    await mongo.db.collection('records').insertOne({ deliveryId: 'd_1' });
    const single = await mongo.db
      .collection('records')
      .insertOne({ deliveryId: 'd_1' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isDuplicateKeyError(single)).toBe(true);

    const bulk = await mongo.db
      .collection('records')
      .insertMany([{ deliveryId: 'd_1' }, { deliveryId: 'd_2' }], { ordered: false })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isDuplicateKeyError(bulk)).toBe(true);
    expect(await mongo.db.collection('records').countDocuments()).toBe(2);

    expect(isDuplicateKeyError(new Error('E11000 in text only'))).toBe(false);
    expect(isDuplicateKeyError(undefined)).toBe(false);
    expect(isDuplicateKeyError({ writeErrors: [{ code: 11000 }, { code: 121 }] })).toBe(false);
  });
});

describe('bulkWriteEach', () => {
  it('reports the error of each failed write alone, and a duplicate key as success when asked', async () => {
    const c = mongo.db.collection<{ _id: string; v?: number }>('bulk_each');
    await c.insertOne({ _id: 'taken', v: 1 });
    const insert = (id: string) => ({ insertOne: { document: { _id: id, v: 2 } } });
    // Past the store's bulk size, so the positions of later bulks must come out right too.
    const ids = Array.from({ length: mongo.store.bulkSize + 3 }, (_, i) => `n${i}`);
    const ops = [...ids.map(insert), insert('taken')];
    const strict = await bulkWriteEach(c, ops, mongo.store);
    expect(strict.slice(0, ids.length)).toEqual(ids.map(() => undefined));
    expect(strict.at(-1)).toBeInstanceOf(Error);
    expect(await c.countDocuments({ v: 2 })).toBe(ids.length);

    const lenient = await bulkWriteEach(c, [insert('taken'), insert('fresh')], mongo.store, {
      duplicateKeyIsSuccess: true,
    });
    expect(lenient).toEqual([undefined, undefined]);
    expect(await c.findOne({ _id: 'taken' })).toEqual({ _id: 'taken', v: 1 });
    expect(await c.findOne({ _id: 'fresh' })).toEqual({ _id: 'fresh', v: 2 });
  });
});

describe('ensureTtlIndex / sweepExpired', () => {
  const indexOf = async (name: string) =>
    (await mongo.db.collection('expiring').indexes()).find((i) => i.name === name);

  it('keeps a retention index whatever the seconds, as a TTL index where the server has them', async () => {
    await mongo.db.collection('expiring').insertOne({ at: new Date() });
    // An index of the same name without a TTL (as an older version made it) is kept or replaced.
    await ensureIndexes(mongo.db, 'expiring', [{ key: { at: 1 }, name: 'at' }]);
    const first = await ensureTtlIndex(mongo.db, 'expiring', { name: 'at', field: 'at', seconds: 3_600 });
    expect(first === 'server' || first === 'sweep').toBe(true);
    expect((await indexOf('at'))?.expireAfterSeconds).toBe(first === 'server' ? 3_600 : undefined);
    expect(await ensureTtlIndex(mongo.db, 'expiring', { name: 'at', field: 'at', seconds: 3_600 })).toBe(first);
    expect(await ensureTtlIndex(mongo.db, 'expiring', { name: 'at', field: 'at', seconds: 86_400 })).toBe(first);
    expect((await indexOf('at'))?.expireAfterSeconds).toBe(first === 'server' ? 86_400 : undefined);
    expect(await ensureTtlIndex(mongo.db, 'expiring', { name: 'at', field: 'at', seconds: 0 })).toBe('none');
    const off = await indexOf('at');
    expect(off?.key).toEqual({ at: 1 });
    expect(off?.expireAfterSeconds).toBeUndefined();
  });

  it('sweeps what is older than the retention and nothing newer', async () => {
    const now = new Date('2026-12-01T00:00:00Z');
    await mongo.db.collection('sweep').insertMany([
      { _id: 'old' as never, at: new Date(now.getTime() - 3_601_000) },
      { _id: 'new' as never, at: new Date(now.getTime() - 3_599_000) },
    ]);
    expect(await sweepExpired(mongo.db, 'sweep', { field: 'at', seconds: 3_600, now })).toBe(1);
    expect(
      await mongo.db
        .collection('sweep')
        .find()
        .map((d) => d._id as unknown as string)
        .toArray(),
    ).toEqual(['new']);
  });
});
