// Statuses over time: while a communication's counts change, reporting snapshots them at most once
// per time bucket (a fenced upsert by `<communicationId>:<bucket>`), and the Delivery Report draws
// them as an inline SVG chart stating the latest figures. Short ticks and buckets keep it quick.
import { DeliveryStatus } from '@dlr/contracts';
import { connectMongo, type MongoHandle } from '@dlr/platform';
import { emptyCounts } from '@dlr/status-engine';
import { eventually } from '@dlr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNT_HISTORY, MongoCountHistory, snapshotId, type CountSnapshotDoc } from '../src/adapters/mongo/history.js';
import {
  AUTH,
  infra,
  publishEvent,
  publishRecipients,
  rand,
  settled,
  silentLogger,
  startReporting,
  type Harness,
} from './helpers.js';

const BUCKET_MS = 2_000;
let h: Harness;
let mongo: MongoHandle;

beforeAll(async () => {
  h = await startReporting({
    env: { REPORTING_HISTORY_TICK_SECONDS: '1', REPORTING_HISTORY_BUCKET_SECONDS: String(BUCKET_MS / 1_000) },
  });
  mongo = await connectMongo({ uri: infra().mongoUri, dbName: h.db, logger: silentLogger, appName: 'history-test' });
});

afterAll(async () => {
  await mongo?.close();
  await h?.stop();
});

async function reportHtml(communicationId: string): Promise<string> {
  const response = await fetch(`${h.httpUrl}/communications/${communicationId}`, { headers: AUTH });
  expect(response.status).toBe(200);
  return response.text();
}

describe('statuses over time', () => {
  it('snapshots the counts once per bucket while they change, and the Delivery Report charts them', async () => {
    const c = `c_${rand(8)}`;
    const history = mongo.db.collection<CountSnapshotDoc>(COUNT_HISTORY);
    const ids = Array.from({ length: 4 }, (_, i) => `d_${rand(6)}${i}`);
    await publishRecipients(
      h,
      c,
      ids.map((id, i) => ({ id, channel: 'email', name: `Person ${i}`, address: `p${i}@example.test` })),
    );
    // The records' partitions are counted one by one: a tick may first see some of them.
    const first = await eventually(async () => {
      const docs = await history.find({ communicationId: c }).sort({ bucket: 1 }).toArray();
      const last = docs.at(-1);
      expect([last?.total, last?.status.pending]).toEqual([4, 4]);
      return last!;
    });
    expect(first._id).toBe(snapshotId(c, first.bucket));
    expect(first.bucket.getTime() % BUCKET_MS).toBe(0);
    const before = await history.countDocuments({ communicationId: c });
    // One snapshot is no chart yet.
    if (before === 1) expect(await reportHtml(c)).toContain('id="status-history-empty"');

    // The next changes land in a later bucket (waiting on the clock, not on the service).
    await eventually(() => expect(Date.now()).toBeGreaterThanOrEqual(first.bucket.getTime() + BUCKET_MS), 5_000);
    const event = (i: number, status: DeliveryStatus, n: number) => ({
      eventId: `e_${rand(8)}_${n}`,
      deliveryId: ids[i]!,
      communicationId: c,
      status,
      attempt: 1,
    });
    await publishEvent(h, event(0, DeliveryStatus.DELIVERY_STATUS_DELIVERED, 1));
    await publishEvent(h, event(1, DeliveryStatus.DELIVERY_STATUS_DELIVERED, 2));
    await publishEvent(h, event(2, DeliveryStatus.DELIVERY_STATUS_SENT, 3));
    await settled(h);

    const docs = await eventually(async () => {
      const all = await history.find({ communicationId: c }).sort({ bucket: 1 }).toArray();
      const last = all.at(-1)!;
      expect(last.status).toMatchObject({ pending: 1, sent: 1, delivered: 2 });
      return all;
    }, 15_000);
    // At most one per bucket, each at its bucket's `_id`; the earlier ones kept their figures.
    expect(docs.length).toBeGreaterThan(before);
    expect(new Set(docs.map((d) => d.bucket.getTime())).size).toBe(docs.length);
    for (const d of docs) expect(d._id).toBe(snapshotId(c, d.bucket));
    expect(docs.find((d) => d._id === first._id)).toEqual(first);

    const page = await reportHtml(c);
    expect(page).toContain(
      '<svg class="history-chart" role="img" aria-labelledby="status-history-title status-history-desc"',
    );
    expect(page).toMatch(
      /<desc id="status-history-desc">[^<]*Latest \(\d\d:\d\d UTC\): 2 Delivered, 1 Pending, 1 Sent; 4 records\.<\/desc>/,
    );
    expect(page).toContain('<polygon data-status="delivered" fill="#15803d"');
    expect(page).toContain('<details><summary>Statuses over time as a table</summary>');
    expect(page).not.toContain('id="status-history-empty"');
  });

  it('writes a bucket once however often it is written, the latest reading winning', async () => {
    const c = `c_${rand(8)}`;
    const store = new MongoCountHistory(mongo.db);
    const bucket = new Date(Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS);
    const at = (ms: number) => new Date(bucket.getTime() + ms);
    const snapshot = (takenAt: Date, delivered: number) => ({
      bucket,
      takenAt,
      total: 5,
      status: { ...emptyCounts(), delivered, pending: 5 - delivered },
    });
    await store.put(c, snapshot(at(500), 3));
    await store.put(c, snapshot(at(500), 3)); // a repeat
    await store.put(c, snapshot(at(100), 1)); // a replica's older reading, written late
    let docs = await mongo.db.collection<CountSnapshotDoc>(COUNT_HISTORY).find({ communicationId: c }).toArray();
    expect(docs.map((d) => [d._id, d.status.delivered])).toEqual([[snapshotId(c, bucket), 3]]);
    await store.put(c, snapshot(at(900), 4)); // a later reading of the same bucket
    docs = await mongo.db.collection<CountSnapshotDoc>(COUNT_HISTORY).find({ communicationId: c }).toArray();
    expect(docs.map((d) => [d._id, d.status.delivered])).toEqual([[snapshotId(c, bucket), 4]]);
    expect((await store.list(c, 10)).map((s) => s.status.delivered)).toEqual([4]);
  });
});
