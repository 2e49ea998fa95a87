// Raw ceilings of this machine, measured in the same run as the system: what a bare HTTP server
// answers with the benchmark's own client, and what the store accepts in upserts by _id.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { connectMongo, createLogger } from '@dlr/platform';
import { migrate as migrateReporting } from '@dlr/reporting';
import { MongoClient, type AnyBulkWriteOperation, type Collection, type Document } from 'mongodb';
import { HttpClient } from './http.js';

/** Requests per second a fastify server with one POST route answering 204 sustains (closed loop). */
export async function bareFastifyCeiling(
  seconds: number,
  concurrency: number,
  body: string,
  signal: AbortSignal,
): Promise<number> {
  const app = Fastify({ logger: false });
  app.post('/v1/callbacks/simulator', async (_request, reply) => reply.status(204).send());
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = new HttpClient(origin);
  try {
    const headers = { 'content-type': 'application/json' };
    return await closedLoop(seconds, concurrency, signal, async () => {
      const res = await client.post('/v1/callbacks/simulator', headers, body);
      return res.status === 204;
    });
  } finally {
    await client.close();
    await app.close();
  }
}

/** Runs `op` from `concurrency` workers back to back for `seconds`; successes per second. */
async function closedLoop(
  seconds: number,
  concurrency: number,
  signal: AbortSignal,
  op: () => Promise<boolean>,
): Promise<number> {
  const started = performance.now();
  const end = started + seconds * 1_000;
  let ok = 0;
  const worker = async () => {
    while (performance.now() < end && !signal.aborted) if (await op()) ok += 1;
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ok / ((performance.now() - started) / 1_000);
}

/** Store ceilings in documents (or operations) per second. */
export interface StoreCeilings {
  readonly bulkUpsertDocsPerSecond: number;
  /**
   * The same bulk upserts of documents shaped like delivery records (about 1 KB, a timeline of
   * three entries) into a collection with reporting's own indexes (created by its migration): what
   * the store can do for the writes reporting must make, without the system around them.
   */
  readonly recordUpsertDocsPerSecond: number;
  readonly singleUpdateOpsPerSecond: number;
}

interface ScratchDoc {
  _id: string;
  n: number;
  status: string;
  at: Date;
}

/** Keys the upserts cycle over: the first pass inserts, later passes update. */
const KEY_SPACE = 20_000;
const BULK_BATCH = 500;

/**
 * Upserts by `_id` into a scratch database on `mongoUri` — unordered bulkWrite batches of 500,
 * then single `updateOne`s one after the other — `seconds` each; drops the database afterwards.
 */
export async function storeCeilings(mongoUri: string, seconds: number, signal: AbortSignal): Promise<StoreCeilings> {
  const client = new MongoClient(mongoUri);
  const db = client.db(`bench_scratch_${randomBytes(4).toString('hex')}`);
  try {
    await client.connect();
    const collection = db.collection<ScratchDoc>('upserts');
    const bulk = await timed(seconds, signal, (n) => bulkUpserts(collection, n));
    const single = await timed(seconds, signal, async (n) => {
      await collection.updateOne(
        { _id: key(n) },
        { $set: { n, status: 'delivered', at: new Date() } },
        { upsert: true },
      );
      return 1;
    });
    return {
      bulkUpsertDocsPerSecond: bulk,
      recordUpsertDocsPerSecond: await recordCeiling(mongoUri, seconds, signal),
      singleUpdateOpsPerSecond: single,
    };
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

async function recordCeiling(mongoUri: string, seconds: number, signal: AbortSignal): Promise<number> {
  const logger = createLogger('bench-ceilings', 'warn');
  const mongo = await connectMongo({
    uri: mongoUri,
    dbName: `bench_scratch_${randomBytes(4).toString('hex')}`,
    logger,
    appName: 'bench-ceilings',
  });
  try {
    await migrateReporting(mongo);
    const records = mongo.db.collection<{ _id: string } & Document>('delivery_records');
    const batch = mongo.store.bulkSize;
    return await timed(seconds, signal, async (first) => {
      const now = new Date();
      const ops: AnyBulkWriteOperation<{ _id: string } & Document>[] = Array.from({ length: batch }, (_, i) => {
        const n = first + i;
        return {
          replaceOne: { filter: { _id: key(n) }, replacement: recordLike(n, now), upsert: true },
        };
      });
      await records.bulkWrite(ops, { ordered: false });
      return batch;
    });
  } finally {
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

const STATUSES = ['sent', 'delivered', 'bounced_temporarily', 'failed'] as const;

function recordLike(n: number, now: Date): Document {
  const status = STATUSES[n % STATUSES.length]!;
  const entry = (s: string, i: number) => ({
    status: s,
    source: 'provider',
    eventId: `ev-${n}-${i}`,
    provider: 'simulator',
    providerEventAt: now,
    receivedAt: now,
    attempt: 1,
    reasonCode: s === 'failed' ? 'permanent_bounce' : '',
    reasonText: s === 'failed' ? '550 5.1.1 mailbox unavailable' : '',
  });
  return {
    communicationId: 'c_ceiling',
    channel: 'email',
    recipientName: `Recipient ${n}`,
    address: `r${n}@example.org`,
    partition: n % 8,
    attempt: 1,
    status,
    response: '',
    timeline: [entry('pending', 0), entry('sent', 1), entry(status, 2)],
    version: 3,
    outbox: [],
    createdAt: now,
    updatedAt: now,
  };
}

async function bulkUpserts(collection: Collection<ScratchDoc>, first: number): Promise<number> {
  const ops: AnyBulkWriteOperation<ScratchDoc>[] = Array.from({ length: BULK_BATCH }, (_, i) => ({
    updateOne: {
      filter: { _id: key(first + i) },
      update: { $set: { n: first + i, status: 'delivered', at: new Date() } },
      upsert: true,
    },
  }));
  await collection.bulkWrite(ops, { ordered: false });
  return BULK_BATCH;
}

function key(n: number): string {
  return `k${n % KEY_SPACE}`;
}

/** Calls `op(counter)` back to back for `seconds`; documents (as `op` counts them) per second. */
async function timed(seconds: number, signal: AbortSignal, op: (counter: number) => Promise<number>): Promise<number> {
  const started = performance.now();
  const end = started + seconds * 1_000;
  let done = 0;
  while (performance.now() < end && !signal.aborted) done += await op(done);
  return done / ((performance.now() - started) / 1_000);
}
