// Recipients removed from a draft, and deleted drafts (`RecipientsRemoved`), leave the reports and
// the counts; the counts still equal a recount. Real NATS and the real store.
import { promisify } from 'node:util';
import {
  DeliveryStatus,
  GetDeliveryRecordsRequest,
  REPORTING_PARTITIONS,
  type GetDeliveryRecordsResponse,
} from '@dlr/contracts';
import { connectMongo } from '@dlr/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@dlr/testing';
import { RecordsRepository } from '../src/adapters/mongo/records.js';
import {
  counts,
  getJson,
  grpcClient,
  infra,
  publishEvent,
  publishRecipients,
  publishRemoved,
  rand,
  settled,
  silentLogger,
  startReporting,
  type Harness,
  type ListJson,
} from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startReporting();
});

afterAll(async () => {
  await h?.stop();
});

const run = rand(6);
const id = (name: string) => `${name}_${run}`;

async function list(communicationId: string): Promise<ListJson> {
  const { status, body } = await getJson<ListJson>(h, `/api/v1/communications/${communicationId}/delivery-records`);
  expect(status).toBe(200);
  return body;
}

const person = (d: string, channel: 'email' | 'sms' = 'email') => ({
  id: d,
  channel,
  name: `Person ${d}`,
  address: channel === 'email' ? `${d}@example.test` : '+61400009991',
});

describe('removed recipients', () => {
  const c = id('c_rm');
  const [d1, d2, d3, d4] = [id('d_rm1'), id('d_rm2'), id('d_rm3'), id('d_rm4')];

  it('drops removed records and their counts', async () => {
    await publishRecipients(h, c, [person(d1), person(d2), person(d3, 'sms'), person(d4)]);
    await eventually(async () => expect((await list(c)).total).toBe(4));
    await publishRemoved(h, c, [d2, d3]);
    await settled(h);
    const page = await list(c);
    expect(page.total).toBe(2);
    expect(page.counts).toEqual(counts({ pending: 2 }));
    expect(page.records.map((r) => r.id).sort()).toEqual([d1, d4].sort());
    expect((await getJson(h, `/api/v1/delivery-records/${d2}`)).status).toBe(404);
    // A repeat changes nothing.
    await publishRemoved(h, c, [d2]);
    await settled(h);
    expect((await list(c)).total).toBe(2);
  });

  it('keeps a removal that overtook its RecipientsAdded; a later add brings the record back', async () => {
    const d5 = id('d_rm5');
    const addedAt = new Date(Date.now() - 60_000);
    await publishRemoved(h, c, [d5], new Date(Date.now() - 30_000));
    await publishRecipients(h, c, [person(d5)], addedAt);
    await settled(h);
    expect((await list(c)).records.map((r) => r.id)).not.toContain(d5);
    await publishRecipients(h, c, [person(d5)], new Date());
    await settled(h);
    const page = await list(c);
    expect(page.records.map((r) => r.id)).toContain(d5);
    expect(page.total).toBe(3);
    expect(page.counts).toEqual(counts({ pending: 3 }));
  });

  it('drops every record of a deleted draft', async () => {
    const gone = id('c_del');
    const ds = [id('d_del1'), id('d_del2'), id('d_del3')];
    await publishRecipients(
      h,
      gone,
      ds.map((d) => person(d)),
    );
    await eventually(async () => expect((await list(gone)).total).toBe(3));
    await publishRemoved(h, gone, ds, new Date(), true);
    await settled(h);
    const page = await list(gone);
    expect(page.total).toBe(0);
    expect(page.records).toEqual([]);
    expect(page.counts).toEqual(counts({}));
  });

  it('GetDeliveryRecords reads records by ID across communications, leaving out removed and unknown ones', async () => {
    const other = id('c_other');
    const d6 = id('d_rm6');
    await publishRecipients(h, other, [person(d6)]);
    await publishEvent(h, {
      eventId: id('e6'),
      deliveryId: d6,
      communicationId: other,
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
      attempt: 1,
    });
    await settled(h);
    const client = grpcClient(h);
    try {
      const get = promisify<GetDeliveryRecordsRequest, GetDeliveryRecordsResponse>(
        client.getDeliveryRecords.bind(client),
      );
      const r = await get(GetDeliveryRecordsRequest.fromPartial({ ids: [d1, d2, d6, id('d_nothing')] }));
      expect(r.records.map((x) => [x.id, x.communicationId, x.status]).sort()).toEqual(
        [
          [d1, c, DeliveryStatus.DELIVERY_STATUS_PENDING],
          [d6, other, DeliveryStatus.DELIVERY_STATUS_DELIVERED],
        ].sort(),
      );
    } finally {
      client.close();
    }
  });

  it('counts equal a recount of the records', async () => {
    const before = await list(c);
    const mongo = await connectMongo({ uri: infra().mongoUri, dbName: h.db, logger: silentLogger, appName: 'test' });
    try {
      const repo = new RecordsRepository(mongo.db);
      // An epoch above any the workers hold: the recount's documents are the ones read below.
      for (let p = 0; p < REPORTING_PARTITIONS; p++) await repo.recount(p, new Date(), 1_000_000);
    } finally {
      await mongo.close();
    }
    const after = await list(c);
    expect(after.total).toBe(before.total);
    expect(after.counts).toEqual(before.counts);
  });

  it('retention deletes the tombstones of removed records, and only those, after the retention time', async () => {
    const mongo = await connectMongo({ uri: infra().mongoUri, dbName: h.db, logger: silentLogger, appName: 'test' });
    try {
      const records = mongo.db.collection<{ _id: string; communicationId: string }>('delivery_records');
      expect(await records.countDocuments({ communicationId: '' })).toBeGreaterThan(0);
      const repo = new RecordsRepository(mongo.db);
      await repo.expireCommunications(new Date(Date.now() - 3_600_000)); // none is an hour old
      expect(await records.countDocuments({ communicationId: '' })).toBeGreaterThan(0);
      await repo.expireCommunications(new Date(Date.now() + 1_000), 0);
      expect(await records.countDocuments({ communicationId: '' })).toBe(0);
      expect(await records.countDocuments({ communicationId: c })).toBe(3); // live records untouched
    } finally {
      await mongo.close();
    }
  });
});
