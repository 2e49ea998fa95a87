// The Message Delivery Report's totals of whole days come from day-bucket counters (one counts
// document per communication, day sent and partition): they equal an aggregation of the records,
// and a recount after an unclean stop rebuilds them from the records.
import { DeliveryStatus, REPORTING_PARTITIONS } from '@dlr/contracts';
import { connectMongo } from '@dlr/platform';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '@dlr/testing';
import { COUNTS, RecordsRepository, type CountsDoc } from '../src/adapters/mongo/records.js';
import {
  getJson,
  infra,
  publishEvent,
  publishRecipients,
  rand,
  settled,
  silentLogger,
  startReporting,
  type Harness,
} from './helpers.js';

interface Mdr {
  total: number;
  totals: { channel: string; status: string; count: number }[];
}
const running: Harness[] = [];
afterAll(async () => {
  for (const h of running) await h.stop();
});

describe('day-bucket counters', () => {
  it('give the totals of whole days, equal to an aggregation, and survive a recount', async () => {
    const db = `t_${rand(12)}`;
    const h = await startReporting({ db });
    const c = `c_${rand(8)}`;
    const ids = Array.from({ length: 12 }, (_, i) => `d_${rand(6)}${i}`);
    await publishRecipients(
      h,
      c,
      ids.map((id, i) => ({ id, channel: i % 2 ? 'sms' : 'email', name: `R${i}`, address: `r${i}@example.org` })),
    );
    // 10 sent (yesterday's and today's dispatch results), 2 never sent.
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.parse(today) - 86_400_000);
    for (const [i, id] of ids.slice(0, 10).entries()) {
      await publishEvent(h, {
        eventId: `dispatch:${id}:1`,
        deliveryId: id,
        communicationId: c,
        status: i < 3 ? DeliveryStatus.DELIVERY_STATUS_NOT_SENT : DeliveryStatus.DELIVERY_STATUS_SENT,
        attempt: 1,
        source: 'dispatch',
        receivedAt: i < 4 ? new Date(yesterday.getTime() + 3_600_000) : new Date(),
      });
    }
    await settled(h);
    const dayOf = (d: Date) => d.toISOString().slice(0, 10);
    const mdr = (h2: Harness, from: string, to: string) =>
      getJson<Mdr>(h2, `/api/v1/message-delivery-report?communicationId=${c}&from=${from}&to=${to}`);
    const sorted = (t: Mdr['totals']) =>
      [...t].sort((a, b) => `${a.channel}${a.status}`.localeCompare(`${b.channel}${b.status}`));

    const counted = await eventually(async () => {
      const { body } = await mdr(h, dayOf(yesterday), today);
      expect(body.total).toBe(10);
      return body;
    });
    const later = encodeURIComponent(new Date(Date.parse(today) + 86_400_001).toISOString());
    const scanned = (await mdr(h, dayOf(yesterday), later)).body;
    expect(sorted(counted.totals)).toEqual(sorted(scanned.totals));
    expect((await mdr(h, dayOf(yesterday), dayOf(yesterday))).body.total).toBe(4);
    expect((await mdr(h, today, today)).body.total).toBe(6);
    // Across communications: the buckets of every communication of those days (index `day`).
    const every = await getJson<Mdr>(h, `/api/v1/message-delivery-report?from=${dayOf(yesterday)}&to=${today}`);
    const everyScanned = await getJson<Mdr>(h, `/api/v1/message-delivery-report?from=${dayOf(yesterday)}&to=${later}`);
    expect(every.body.total).toBe(10);
    expect(sorted(every.body.totals)).toEqual(sorted(everyScanned.body.totals));

    // An unclean stop that lost a day bucket's update: the recount rebuilds it from the records.
    await h.stop({ keepDatabase: true });
    const mongo = await connectMongo({ uri: infra().mongoUri, dbName: db, logger: silentLogger, appName: 'test' });
    try {
      const lost = await mongo.db
        .collection<CountsDoc>(COUNTS)
        .updateMany({ day: today }, { $inc: { total: 5, 'status.sent': 5, 'channel.email.sent': 5 } });
      expect(lost.modifiedCount).toBeGreaterThan(0);
      const repo = new RecordsRepository(mongo.db, mongo.store);
      for (let p = 0; p < REPORTING_PARTITIONS; p++) await repo.recount(p, new Date(), 1_000);
    } finally {
      await mongo.close();
    }
    const again = await startReporting({ db });
    running.push(again);
    expect(sorted((await mdr(again, dayOf(yesterday), today)).body.totals)).toEqual(sorted(counted.totals));
  });
});
