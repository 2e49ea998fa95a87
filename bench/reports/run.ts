// Benchmark of the Delivery Report's reads at 200 000 records in one communication: seeds the records
// straight into the store (as reporting stores them), starts reporting as its own process, and prints p50/p95
// of the first page with counts, a filtered page, a page 1 000 pages deep and the CSV export's rows/s —
// each beside its store floor: the bare MongoDB driver doing the same reads, in the same run.
// Run: `npm run bench:reports` (env: BENCH_RECORDS=200000 BENCH_RUNS=100 BENCH_CSV_RUNS=5 BENCH_FRESH=1).
import { randomBytes } from 'node:crypto';
import { COMMUNICATION, DB, RECORDS, say, seed } from './seed.js';
import { Agent, request } from 'node:http';
import { REPORTING_PARTITIONS } from '@dlr/contracts';
import { join } from 'node:path';
import { connectMongo, createLogger } from '@dlr/platform';
import { ROW_PROJECTION } from '@dlr/reporting';
import { startSystem } from '@dlr/testing';
import type { Document } from 'mongodb';
import { describeHost, describeStore } from '../callbacks/machine.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 100);
const CSV_RUNS = Number(process.env['BENCH_CSV_RUNS'] ?? 5);
const PAGE = 100;
const DEEP_PAGES = Math.min(1_000, Math.floor(RECORDS / PAGE) - 1);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

interface Figure {
  name: string;
  index: string;
  ours: number[];
  floor: number[];
}

async function main(): Promise<void> {
  const { NATS_URL, MONGODB_URI, DLR_INFRA_PATH } = process.env;
  if (!NATS_URL || !MONGODB_URI) throw new Error('NATS_URL and MONGODB_URI must be set (run `npm run bench:reports`)');
  const logger = createLogger('bench-reports', 'warn');
  const mongo = await connectMongo({ uri: MONGODB_URI, dbName: DB, logger, appName: 'bench-reports' });
  const store = await describeStore(MONGODB_URI, DLR_INFRA_PATH);
  try {
    await seed(mongo.db);
    // Reporting runs as its own process, as it does in production: the timed client, the floor's
    // driver and their garbage stay out of the service's event loop and heap.
    say('starting reporting (its own process)');
    const system = await startSystem({
      natsUrl: NATS_URL,
      mongoUri: MONGODB_URI,
      namespace: `bench${randomBytes(4).toString('hex')}`,
      logDir: join('.dlr', `bench-reports-${new Date().toISOString().replaceAll(':', '-')}`),
      logLevel: 'warn',
      only: ['reporting'],
      extraEnv: { reporting: { MONGODB_DB: DB } },
      log: say,
    });
    const service = { httpUrl: system.reportingUrl };
    const TOKEN = system.operatorToken;
    try {
      const records = mongo.db.collection<{ _id: string } & Document>('delivery_records');
      const countsColl = mongo.db.collection<{ _id: string } & Document>('communication_counts');
      const headers = { authorization: `Bearer ${TOKEN}` };
      const api = `${service.httpUrl}/api/v1/communications/${COMMUNICATION}`;
      // Reads are timed to their last byte over one kept-alive connection (node:http, which costs
      // the client far less than fetch), as a browser sees them; the body is checked, not parsed.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = (path: string, onChunk: (chunk: Buffer) => void = () => {}) =>
        new Promise<void>((resolve, reject) => {
          const req = request(`${api}/${path}`, { agent, headers }, (res) => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
              onChunk(chunk);
            });
            res.on('end', () =>
              res.statusCode === 200 && bytes > 0
                ? resolve()
                : reject(new Error(`GET ${path} → ${res.statusCode} (${bytes} bytes)`)),
            );
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end();
        });
      // The partitions' counters: one $in read on a server that plans with indexes, one read each on
      // FerretDB v1 (as reporting reads them, records.ts).
      const countsIds = Array.from({ length: REPORTING_PARTITIONS }, (_, p) => `${COMMUNICATION}:${p}`);
      const floorCounts = () =>
        mongo.store.indexedQueries
          ? countsColl.find({ _id: { $in: countsIds } }).toArray()
          : Promise.all(countsIds.map((_id) => countsColl.findOne({ _id })));
      // The same hint as reporting gives on a server that plans with indexes (report-reads.ts).
      const hinted = <C extends { hint(h: string): C }>(cursor: C, index: string) =>
        mongo.store.indexedQueries ? cursor.hint(index) : cursor;
      const floorPage = (filter: Document, index: string) =>
        Promise.all([
          floorCounts(),
          hinted(records.find(filter, { projection: ROW_PROJECTION }).sort({ _id: 1 }), index)
            .limit(PAGE + 1)
            .toArray(),
        ]);

      say('reporting started; measuring');
      // The record after which page 1 001 starts (cursor paging by _id).
      const deepAfter = (
        await hinted(
          records.find({ communicationId: COMMUNICATION }, { projection: { _id: 1 } }).sort({ _id: 1 }),
          'communicationId_id',
        )
          .skip(PAGE * DEEP_PAGES - 1)
          .limit(1)
          .toArray()
      )[0]!._id;
      const deepCursor = Buffer.from(deepAfter).toString('base64url');

      const time = async (fn: () => Promise<unknown>) => {
        const t = performance.now();
        await fn();
        return performance.now() - t;
      };
      const figures: Figure[] = [
        { name: 'first page + counts', index: 'communicationId_id (+ counts by _id)', ours: [], floor: [] },
        { name: 'filtered page (status=failed) + counts', index: 'communicationId_status_id', ours: [], floor: [] },
        { name: `page ${DEEP_PAGES} deep (cursor) + counts`, index: 'communicationId_id', ours: [], floor: [] },
      ];
      const runs: [Figure, () => Promise<unknown>, () => Promise<unknown>][] = [
        [
          figures[0]!,
          () => get(`delivery-records?limit=${PAGE}`),
          () => floorPage({ communicationId: COMMUNICATION }, 'communicationId_id'),
        ],
        [
          figures[1]!,
          () => get(`delivery-records?limit=${PAGE}&status=failed`),
          () => floorPage({ communicationId: COMMUNICATION, status: 'failed' }, 'communicationId_status_id'),
        ],
        [
          figures[2]!,
          () => get(`delivery-records?limit=${PAGE}&cursor=${deepCursor}`),
          () => floorPage({ communicationId: COMMUNICATION, _id: { $gt: deepAfter } }, 'communicationId_id'),
        ],
      ];
      // Warm both paths once, then alternate ours and the floor so drift hits both alike.
      for (const [, ours, floor] of runs) await Promise.all([ours(), floor()]);
      for (let r = 0; r < RUNS; r += 1) {
        for (const [figure, ours, floor] of runs) {
          figure.ours.push(await time(ours));
          figure.floor.push(await time(floor));
        }
        say(`page runs ${r + 1}/${RUNS}`);
      }

      const csvOurs: number[] = [];
      const csvFloor: number[] = [];
      for (let r = 0; r < CSV_RUNS; r += 1) {
        let rows = 0;
        const t0 = performance.now();
        await get('delivery-records.csv', (chunk) => {
          for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) rows += 1;
        });
        csvOurs.push((rows - 1) / ((performance.now() - t0) / 1000));
        let docs = 0;
        const t1 = performance.now();
        for await (const _doc of hinted(
          records.find({ communicationId: COMMUNICATION }, { projection: ROW_PROJECTION }).sort({ _id: 1 }),
          'communicationId_id',
        ).batchSize(2_000))
          docs += 1;
        csvFloor.push(docs / ((performance.now() - t1) / 1000));
        say(`CSV run ${r + 1}/${CSV_RUNS}: ${rows - 1} rows`);
      }

      const ms = (v: number) => `${v.toFixed(1).padStart(6)} ms`;
      const ratio = (ours: number, floor: number) => `${(ours / floor).toFixed(2)}×`.padStart(9);
      const lines = [
        '',
        `Delivery Report reads — ${RECORDS} records in one communication, pages of ${PAGE}, ${RUNS} runs each (CSV: ${CSV_RUNS})`,
        `machine: ${describeHost()}`,
        `store:   ${store}`,
        '',
        `${'read'.padEnd(42)} ${'p50'.padStart(9)} ${'p95'.padStart(9)}   ${'floor p50'.padStart(9)} ${'floor p95'.padStart(9)}   ${'ratio p50'.padStart(9)} ${'ratio p95'.padStart(9)}  MongoDB index`,
      ];
      for (const f of figures) {
        const o = [...f.ours].sort((a, b) => a - b);
        const fl = [...f.floor].sort((a, b) => a - b);
        lines.push(
          `${f.name.padEnd(42)} ${ms(quantile(o, 0.5))} ${ms(quantile(o, 0.95))}   ${ms(quantile(fl, 0.5))} ${ms(quantile(fl, 0.95))}   ${ratio(quantile(o, 0.5), quantile(fl, 0.5))} ${ratio(quantile(o, 0.95), quantile(fl, 0.95))}  ${f.index}`,
        );
      }
      const med = (v: number[]) =>
        quantile(
          [...v].sort((a, b) => a - b),
          0.5,
        );
      lines.push(
        `${'CSV export (all rows, streamed)'.padEnd(42)} ${med(csvOurs).toFixed(0).padStart(7)} rows/s (median)   floor ${med(csvFloor).toFixed(0)} rows/s   ratio ${(med(csvFloor) / med(csvOurs)).toFixed(2)}×  communicationId_id`,
        '',
        'Floor = the bare driver doing the same reads (counters by _id + the same find/sort/limit) on the same store, in this run.',
        'FerretDB v1 (SQLite) pushes down only a bare {_id} filter: every page query above scans the collection there, so',
        'these pages cost what a full scan costs. On MongoDB the named indexes serve them.',
        '',
      );
      process.stdout.write(lines.join('\n'));
    } finally {
      await system.stop();
    }
  } finally {
    await mongo.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
