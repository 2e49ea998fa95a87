// The seeded communication of the reads benchmarks: RECORDS delivery records, as reporting stores
// them, with a mix of statuses a communication has some minutes after sending (and its counters).
import { randomBytes } from 'node:crypto';
import { partitionOf, REPORTING_PARTITIONS } from '@dlr/contracts';
import { STATUSES, type StatusKey } from '@dlr/status-engine';
import type { Db, Document } from 'mongodb';

export const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
export const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 200_000);
const FRESH = process.env['BENCH_FRESH'] === '1';
export const DB = `bench_reports_${RECORDS}`;
export const COMMUNICATION = `c_bench${RECORDS}`;

/** Shown statuses of the seeded records, by share (a communication some minutes after sending). */
const MIX: [StatusKey, number, string][] = [
  ['pending', 0.01, ''],
  ['sent', 0.1, ''],
  ['not_sent', 0.02, ''],
  ['bounced_temporarily', 0.05, ''],
  ['delivered', 0.57, ''],
  ['read', 0.05, ''],
  ['failed', 0.08, ''],
  ['acknowledged', 0.03, 'Acknowledged'],
  ['responded', 0.08, 'Safe'],
  ['opted_out', 0.01, ''],
];

function pick(i: number): [StatusKey, string] {
  let x = ((i * 2654435761) % 10_000) / 10_000;
  for (const [status, share, response] of MIX) {
    if (x < share) return [status, status === 'responded' && i % 3 === 0 ? 'Need help' : response];
    x -= share;
  }
  return ['delivered', ''];
}

function lane(status: StatusKey, response = '', eventId = '') {
  return {
    status,
    rank: STATUSES[status].rank,
    tie: '',
    eventId,
    response,
    reasonCode: status === 'failed' ? 'permanent_bounce' : '',
    reasonText: '',
  };
}

function recordDoc(i: number, now: Date): Document {
  const id = `d_${randomBytes(16).toString('base64url')}`;
  const [status, response] = pick(i);
  const human = STATUSES[status].rank >= 70;
  const sendStatus: StatusKey = human ? 'delivered' : status;
  const email = i % 3 !== 0;
  const at = new Date(now.getTime() - (RECORDS - i) * 10);
  const entry = (s: StatusKey, n: number) => ({
    eventId: `provider:sim:${id}:${n}`,
    status: s,
    attempt: 1,
    occurredAt: at,
    receivedAt: at,
    response: '',
    reasonCode: '',
    reasonText: '',
    source: 'provider',
    provider: 'simulator',
    providerEventType: s,
    providerMessageId: `m_${id}`,
    suspectedBot: false,
  });
  return {
    _id: id,
    communicationId: COMMUNICATION,
    channel: email ? 'email' : 'sms',
    recipientName: `Recipient ${i}`,
    address: email ? `recipient${i}@example.test` : `+61400${String(i).padStart(6, '0')}`,
    partition: partitionOf(id),
    attempt: status === 'pending' ? 0 : 1,
    send: lane(sendStatus, '', `e1_${id}`),
    human: human ? lane(status, response, `e2_${id}`) : lane('pending'),
    flags: [],
    status,
    response,
    timeline: {
      entries: status === 'pending' ? [] : [entry('sent', 1), entry(sendStatus, 2)],
      dropped: 0,
      droppedIds: [],
    },
    version: 2,
    outbox: [],
    createdAt: at,
    updatedAt: at,
  };
}

/** Seeds the records into `db` (reporting's database) unless they are there (BENCH_FRESH=1: again). */
export async function seed(db: Db): Promise<void> {
  const records = db.collection('delivery_records');
  const have = await records.countDocuments({ communicationId: COMMUNICATION });
  if (have === RECORDS && !FRESH) {
    say(`reusing ${have} seeded records in database ${DB} (BENCH_FRESH=1 to seed again)`);
    return;
  }
  await db.dropDatabase();
  const now = new Date();
  interface Counts {
    total: number;
    status: Record<string, number>;
    channel: Record<string, Record<string, number>>;
    response: Record<string, number>;
  }
  const counts = new Map<number, Counts>();
  const started = performance.now();
  const BATCH = 2_000;
  for (let i = 0; i < RECORDS; i += BATCH) {
    const docs = Array.from({ length: Math.min(BATCH, RECORDS - i) }, (_, k) => recordDoc(i + k, now));
    for (const d of docs) {
      const p = d['partition'] as number;
      const status = d['status'] as string;
      const channel = d['channel'] as string;
      const response = d['response'] as string;
      const c: Counts = counts.get(p) ?? { total: 0, status: {}, channel: {}, response: {} };
      c.total += 1;
      c.status[status] = (c.status[status] ?? 0) + 1;
      const perChannel = (c.channel[channel] ??= {});
      perChannel[status] = (perChannel[status] ?? 0) + 1;
      if (response) c.response[response] = (c.response[response] ?? 0) + 1;
      counts.set(p, c);
    }
    await records.insertMany(docs, { ordered: false });
    if ((i / BATCH) % 10 === 0)
      say(
        `seeded ${i + docs.length} of ${RECORDS} (${Math.round((i + docs.length) / ((performance.now() - started) / 1000))}/s)`,
      );
  }
  for (let p = 0; p < REPORTING_PARTITIONS; p += 1) {
    const c = counts.get(p) ?? { total: 0, status: {}, channel: {}, response: {} };
    await db
      .collection('communication_counts')
      .replaceOne(
        { _id: `${COMMUNICATION}:${p}` as unknown as never },
        { communicationId: COMMUNICATION, partition: p, ...c, updatedAt: now },
        { upsert: true },
      );
  }
  say(`seeded ${RECORDS} records in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
