// Count snapshots through a store outage: with a (private) FerretDB killed, a snapshot tick fails
// without throwing, logs the communication ID only, and keeps the communication for the next tick,
// which writes its snapshot once the store is back.
import type { Logger } from '@dlr/core';
import { connectMongo, type MongoHandle } from '@dlr/platform';
import { emptyCounts } from '@dlr/status-engine';
import { eventually, startPrivateServer, type PrivateServer } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoCountHistory, migrateHistory } from '../src/adapters/mongo/history.js';
import { COUNTS, countsId, type CountsDoc } from '../src/adapters/mongo/records.js';
import { MongoReportReads } from '../src/adapters/mongo/report-reads.js';
import { startCountSnapshots, type CountSnapshots } from '../src/domain/history.js';
import { rand, silentLogger } from './helpers.js';

let store: PrivateServer;
let mongo: MongoHandle;
let snapshots: CountSnapshots | undefined;

beforeAll(async () => {
  store = await startPrivateServer('mongo');
  // A short deadline: a call on the killed store's connection fails in seconds, not the default 30 s.
  mongo = await connectMongo({
    uri: store.url,
    dbName: `t_${rand(12)}`,
    logger: silentLogger,
    appName: 'history-outage-test',
    socketTimeoutMS: 3_000,
  });
  await migrateHistory(mongo.db);
}, 60_000);

afterAll(async () => {
  await snapshots?.stop();
  await mongo?.close();
  await store?.stop();
});

describe('count snapshots and a store outage', () => {
  it('fail without throwing, log no personal data, and are taken once the store is back', async () => {
    const c = `c_${rand(8)}`;
    const counts: CountsDoc = {
      _id: countsId(c, 0),
      communicationId: c,
      partition: 0,
      total: 3,
      status: { delivered: 2, pending: 1 },
      channel: { email: { delivered: 2, pending: 1 } },
      response: {},
      updatedAt: new Date(),
    };
    await mongo.db.collection<CountsDoc>(COUNTS).insertOne(counts);
    const warned: unknown[] = [];
    const noop = () => undefined;
    const logger: Logger = {
      debug: noop,
      info: noop,
      error: noop,
      warn: (fields: object | string) => void warned.push(fields),
      child: () => logger,
    };
    const history = new MongoCountHistory(mongo.db);
    const reads = new MongoReportReads(mongo.db, mongo.store);
    // A timer that never fires by itself: the test runs each tick.
    snapshots = startCountSnapshots({
      counts: (id) => reads.counts(id),
      store: history,
      tickMs: 3_600_000,
      bucketMs: 60_000,
      logger,
    });
    snapshots.changed([c]);

    await store.kill();
    await snapshots.flush(); // resolves: the failure is logged, not thrown
    expect(warned).toHaveLength(1);
    expect(Object.keys(warned[0] as object).sort()).toEqual(['communicationId', 'err', 'waiting']);
    expect(warned[0]).toMatchObject({ communicationId: c, waiting: 1 });

    await store.restart();
    const [snapshot] = await eventually(async () => {
      await snapshots!.flush();
      const list = await history.list(c, 10);
      expect(list).toHaveLength(1);
      return list;
    }, 30_000);
    expect([snapshot!.total, snapshot!.status]).toEqual([3, { ...emptyCounts(), delivered: 2, pending: 1 }]);
  });
});
