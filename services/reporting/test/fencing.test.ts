// Projection writes are fenced: a store that was frozen runs the commands its clients gave up on when
// it thaws, so a record replace read at an older revision, or a counts `$inc` of an older partition
// epoch, must change nothing when it lands late (fault suite case 2 found counts at -29 without it).
import { partitionOf } from '@dlr/contracts';
import { connectMongo, type MongoHandle } from '@dlr/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countKeyOf, CountDeltas, project, type ProjectedRecord } from '../src/domain/projection.js';
import { COUNTS, RecordsRepository, WriteConflictError, type CountsDoc } from '../src/adapters/mongo/records.js';
import { infra, rand, silentLogger } from './helpers.js';

let mongo: MongoHandle;
let repo: RecordsRepository;

beforeAll(async () => {
  mongo = await connectMongo({ uri: infra().mongoUri, dbName: `t_${rand(12)}`, logger: silentLogger, appName: 'test' });
  repo = new RecordsRepository(mongo.db);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

function added(id: string, communicationId: string, name: string): ProjectedRecord {
  const delivery = { deliveryId: id, channel: 'email' as const, recipientName: name, address: `${name}@example.org` };
  const { record } = project(
    id,
    partitionOf(id),
    undefined,
    [{ kind: 'recipients', communicationId, delivery }],
    new Date(),
  );
  if (record === undefined) throw new Error('no record projected');
  return record;
}

describe('fenced projection writes', () => {
  it('a record replace read at an older revision changes nothing once a newer one landed', async () => {
    const id = `d_${rand(8)}`;
    const first = added(id, 'c_fence', 'First');
    await repo.saveMany([{ record: first, rev: 0 }]);
    const loaded = (await repo.loadMany([id])).get(id);
    expect(loaded?.rev).toBe(1);
    await repo.saveMany([{ record: { ...first, recipientName: 'Second' }, rev: 1 }]);

    // Late: the insert of the new record, and the replace read at revision 1.
    await expect(repo.saveMany([{ record: { ...first, recipientName: 'Stale' }, rev: 0 }])).rejects.toBeInstanceOf(
      WriteConflictError,
    );
    await expect(repo.saveMany([{ record: { ...first, recipientName: 'Stale' }, rev: 1 }])).rejects.toBeInstanceOf(
      WriteConflictError,
    );
    const now = (await repo.loadMany([id])).get(id);
    expect(now?.rev).toBe(2);
    expect(now?.record.recipientName).toBe('Second');
  });

  it('a counts $inc of an older epoch changes nothing after a recount started a newer one', async () => {
    const communicationId = `c_${rand(8)}`;
    const id = `d_${rand(8)}`;
    const p = partitionOf(id);
    const record = added(id, communicationId, 'Counted');
    await repo.saveMany([{ record, rev: 0 }]);
    const deltas = new CountDeltas();
    deltas.move(communicationId, undefined, countKeyOf(record));
    await repo.addCounts(p, deltas, new Date(), 1);
    await repo.addCounts(p, deltas, new Date(), 1); // the late repeat of a timed-out $inc: counted twice …
    expect(await repo.recount(p, new Date(), 2)).toBeGreaterThanOrEqual(1); // … until the recount

    await expect(repo.addCounts(p, deltas, new Date(), 1)).rejects.toBeInstanceOf(WriteConflictError);
    const doc = await mongo.db.collection<CountsDoc>(COUNTS).findOne({ _id: `${communicationId}:${p}` });
    expect(doc).toMatchObject({ total: 1, status: { pending: 1 }, epoch: 2 });

    // The current epoch and newer ones still count.
    await repo.addCounts(p, new CountDeltas(), new Date(), 2);
    const moved = new CountDeltas();
    moved.move(communicationId, countKeyOf(record), { ...countKeyOf(record), status: 'sent' });
    await repo.addCounts(p, moved, new Date(), 3);
    const after = await mongo.db.collection<CountsDoc>(COUNTS).findOne({ _id: `${communicationId}:${p}` });
    expect(after).toMatchObject({ total: 1, status: { pending: 0, sent: 1 }, epoch: 3 });

    // A recount of an owner that lost the partition (epoch 2, run late) leaves the newer counts alone.
    await repo.recount(p, new Date(), 2);
    const kept = await mongo.db.collection<CountsDoc>(COUNTS).findOne({ _id: `${communicationId}:${p}` });
    expect(kept).toMatchObject({ total: 1, status: { pending: 0, sent: 1 }, epoch: 3 });
  });
});
