// The store's own bulk-insert rate for documents shaped like dispatch's attempts, measured in the
// same run as the system, so the dispatch figure can be read against what the store can take.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';

/** Documents per `insertMany`: dispatch's batch size. */
const BATCH = 500;

/** Unordered `insertMany` of attempt-shaped documents into a scratch database for `seconds`; docs/s. */
export async function bulkInsertRate(mongoUri: string, seconds: number, signal: AbortSignal): Promise<number> {
  const client = new MongoClient(mongoUri, { appName: 'bench-dispatch-store' });
  const db = client.db(`bench_scratch_${randomBytes(4).toString('hex')}`);
  try {
    await client.connect();
    const attempts = db.collection<{ _id: string }>('attempts');
    await attempts.createIndex({ deliveryId: 1 }, { name: 'deliveryId' });
    const started = performance.now();
    const end = started + seconds * 1_000;
    let done = 0;
    while (performance.now() < end && !signal.aborted) {
      const now = new Date();
      const docs = Array.from({ length: BATCH }, (_, i) => {
        const deliveryId = `d${done + i}`;
        return {
          _id: `${deliveryId}:1`,
          deliveryId,
          communicationId: 'c_bench',
          attempt: 1,
          channel: i % 2 === 0 ? 'email' : 'sms',
          state: 'sending',
          createdAt: now,
          provider: 'simulator',
        };
      });
      await attempts.insertMany(docs, { ordered: false });
      done += BATCH;
    }
    return done / ((performance.now() - started) / 1_000);
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
