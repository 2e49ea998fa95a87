// Retention of delivery records (DELIVERY_RECORD_RETENTION_SECONDS): a communication whose records all
// stopped changing longer ago than the retention goes whole — every record, every counts document and
// every count snapshot — while a communication still within it is untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMongo, type MongoHandle } from '@dlr/platform';
import { eventually } from '@dlr/testing';
import {
  getJson,
  infra,
  publishRecipients,
  rand,
  settled,
  silentLogger,
  startReporting,
  type Harness,
  type ListJson,
} from './helpers.js';

let h: Harness;
let mongo: MongoHandle;
const run = rand(6);
const old = `c_old${run}`;
const fresh = `c_new${run}`;
const people = (c: string) =>
  Array.from({ length: 6 }, (_, i) => ({
    id: `d_${c}${i}`,
    channel: i % 2 === 0 ? ('email' as const) : ('sms' as const),
    name: `Person ${i}`,
    address: i % 2 === 0 ? `p${i}@example.test` : `+6140000${String(i).padStart(4, '0')}`,
  }));

beforeAll(async () => {
  h = await startReporting({
    env: {
      DELIVERY_RECORD_RETENTION_SECONDS: '86400',
      RETENTION_SWEEP_SECONDS: '1',
      REPORTING_HISTORY_TICK_SECONDS: '1',
    },
  });
  mongo = await connectMongo({ uri: infra().mongoUri, dbName: h.db, logger: silentLogger, appName: 'retention-test' });
  await publishRecipients(h, old, people(old));
  await publishRecipients(h, fresh, people(fresh));
  await settled(h);
});

afterAll(async () => {
  await mongo?.close();
  await h?.stop();
});

describe('delivery record retention', () => {
  it('deletes the records, counts and snapshots of a communication quiet for longer than the retention, and only those', async () => {
    const counts = mongo.db.collection<{ communicationId: string; updatedAt: Date }>('communication_counts');
    const records = mongo.db.collection<{ communicationId: string }>('delivery_records');
    const history = mongo.db.collection<{ communicationId: string }>('communication_count_history');
    expect(await records.countDocuments({ communicationId: old })).toBe(6);
    await eventually(async () => {
      for (const c of [old, fresh]) expect(await history.countDocuments({ communicationId: c })).toBeGreaterThan(0);
    });
    // As if its last change were two days ago.
    await counts.updateMany({ communicationId: old }, { $set: { updatedAt: new Date(Date.now() - 2 * 86_400_000) } });
    await eventually(async () => {
      expect(await records.countDocuments({ communicationId: old })).toBe(0);
      expect(await counts.countDocuments({ communicationId: old })).toBe(0);
      expect(await history.countDocuments({ communicationId: old })).toBe(0);
    }, 15_000);
    expect(await records.countDocuments({ communicationId: fresh })).toBe(6);
    expect(await history.countDocuments({ communicationId: fresh })).toBeGreaterThan(0);
    const report = await getJson<ListJson>(h, `/api/v1/communications/${fresh}/delivery-records`);
    expect(report.body.total).toBe(6);
    const gone = await getJson<ListJson>(h, `/api/v1/communications/${old}/delivery-records`);
    expect([gone.status, gone.body.total]).toEqual([200, 0]);
  });
});
