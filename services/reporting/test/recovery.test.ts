// After an unclean stop (a crash between storing records and adding their counts), the next owner
// of a partition rebuilds its counts from the records before it writes anything.
import { DeliveryStatus, partitionOf } from '@dlr/contracts';
import { connectMongo } from '@dlr/platform';
import { afterAll, describe, expect, it } from 'vitest';
import { COUNTS, PARTITIONS, RECORDS } from '../src/adapters/mongo/records.js';
import { eventually } from '@dlr/testing';
import {
  counts,
  getJson,
  infra,
  publishEvent,
  publishRecipients,
  rand,
  settled,
  silentLogger,
  startReporting,
  type Harness,
  type ListJson,
} from './helpers.js';

let h: Harness | undefined;

afterAll(async () => {
  await h?.stop();
});

describe('recovery after an unclean stop', () => {
  it('recounts a partition left dirty by a crashed owner, then goes on projecting', async () => {
    const db = `t_${rand(12)}`;
    const communicationId = `c_${rand(8)}`;
    const ids = Array.from({ length: 40 }, (_, i) => `d_${rand(6)}${i}`);
    // A first owner projects the recipients, then "crashes": its lease stays dirty, and one
    // partition's counts lost an update (as if the crash came between the records and the counts).
    const first = await startReporting({ db });
    await publishRecipients(
      first,
      communicationId,
      ids.map((id, i) => ({ id, channel: 'email', name: `R${i}`, address: `r${i}@example.org` })),
    );
    await settled(first);
    await first.stop({ keepDatabase: true });
    const mongo = await connectMongo({ uri: infra().mongoUri, dbName: db, logger: silentLogger, appName: 'test' });
    try {
      const p = partitionOf(ids[0]!);
      await mongo.db.collection(PARTITIONS).updateMany({}, { $set: { clean: false, owner: 'crashed' } });
      await mongo.db
        .collection<{ _id: string }>(COUNTS)
        .updateOne({ _id: `${communicationId}:${p}` }, { $inc: { 'status.pending': -1, total: -1 } });
      // (countDocuments would aggregate, which FerretDB v1.24 panics on for these documents.)
      expect(await mongo.db.collection(RECORDS).find({ communicationId }).toArray()).toHaveLength(40);
    } finally {
      await mongo.close();
    }

    h = await startReporting({ db });
    // New events make every partition's new owner take over (and recount) before projecting them.
    for (const id of ids) {
      await publishEvent(h, {
        eventId: `dispatch:${id}:1:sent`,
        deliveryId: id,
        communicationId,
        status: DeliveryStatus.DELIVERY_STATUS_SENT,
        attempt: 1,
        source: 'dispatch',
      });
    }
    await settled(h);
    await eventually(async () => {
      const { body } = await getJson<ListJson>(h!, `/api/v1/communications/${communicationId}/delivery-records`);
      expect(body.total).toBe(40);
      expect(body.counts).toEqual(counts({ sent: 40 }));
    });
  });
});
