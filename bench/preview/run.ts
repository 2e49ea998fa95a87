// Benchmark of the operator's long work at 200 000 recipients: the delivery preview and a resend.
// Seeds one communication's delivery records into reporting's store (bench:reports' seed, reused)
// and the same deliveries into communication's store, starts communication and reporting as their
// own processes, then prints how long PreviewDelivery and ResendCommunication take to answer, their
// progress as they report it until finished, and the store's floor for the same reads in the same run
// (the bare driver paging every delivery by _id).
// Run: `npm run bench:preview` (env: BENCH_RECORDS=200000 BENCH_FRESH=1).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ResendScope } from '@dlr/contracts';
import { connectMongo, createLogger } from '@dlr/platform';
import { communicationClient, startSystem } from '@dlr/testing';
import type { Db, Document } from 'mongodb';
import { describeHost, describeStore } from '../callbacks/machine.js';
import { COMMUNICATION, DB as REPORTING_DB, RECORDS, say, seed } from '../reports/seed.js';

const COMMUNICATION_DB = `bench_preview_${RECORDS}`;
const FRESH = process.env['BENCH_FRESH'] === '1';

/** Communication's draft and its deliveries, one per seeded record (same IDs, channel, address). */
async function seedCommunication(reporting: Db, db: Db): Promise<void> {
  const deliveries = db.collection<{ _id: string } & Document>('deliveries');
  const have = await deliveries.countDocuments({ communicationId: COMMUNICATION });
  if (have === RECORDS && !FRESH) {
    say(`reusing ${have} seeded deliveries in database ${COMMUNICATION_DB}`);
  } else {
    await db.dropDatabase();
    const started = performance.now();
    let batch: ({ _id: string } & Document)[] = [];
    let n = 0;
    const cursor = reporting
      .collection<{ _id: string; channel: string; address: string; recipientName: string }>('delivery_records')
      .find({ communicationId: COMMUNICATION }, { projection: { _id: 1, channel: 1, address: 1, recipientName: 1 } })
      .sort({ _id: 1 });
    for await (const r of cursor) {
      const email = r.channel === 'email';
      batch.push({
        _id: r._id,
        communicationId: COMMUNICATION,
        recipientKey: email ? `e:${r.address}` : `p:${r.address}`,
        name: r.recipientName,
        channel: r.channel,
        address: r.address,
        createdAt: new Date(),
        ...(n % 50 === 0 ? { optedOut: true } : {}),
      });
      n += 1;
      if (batch.length === 2_000) {
        await deliveries.insertMany(batch, { ordered: false });
        batch = [];
        if (n % 20_000 === 0)
          say(`seeded ${n} deliveries (${Math.round(n / ((performance.now() - started) / 1000))}/s)`);
      }
    }
    if (batch.length > 0) await deliveries.insertMany(batch, { ordered: false });
    await db.collection('deliveries').createIndex({ communicationId: 1, _id: 1 }, { name: 'communicationId_id' });
    say(`seeded ${n} deliveries in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  await db.collection<{ _id: string } & Document>('communications').replaceOne(
    { _id: COMMUNICATION },
    {
      title: 'Benchmark: evacuation order',
      emailSubject: 'Evacuation order',
      emailBody: 'Leave now by the coast road.',
      smsText: 'Evacuation order: leave now by the coast road.',
      channels: ['email', 'sms'],
      acknowledgementRequested: true,
      responseOptions: [],
      state: 'draft',
      createdAt: new Date(),
      recipientsRevision: 1,
      deliveryCount: RECORDS,
    },
    { upsert: true },
  );
  await db.collection('preview_summaries').deleteMany({});
  await db.collection('resends').deleteMany({});
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const { NATS_URL, MONGODB_URI, DLR_INFRA_PATH } = process.env;
  if (!NATS_URL || !MONGODB_URI) throw new Error('NATS_URL and MONGODB_URI must be set (run `npm run bench:preview`)');
  const logger = createLogger('bench-preview', 'warn');
  const reporting = await connectMongo({ uri: MONGODB_URI, dbName: REPORTING_DB, logger, appName: 'bench-preview' });
  const communication = await connectMongo({
    uri: MONGODB_URI,
    dbName: COMMUNICATION_DB,
    logger,
    appName: 'bench-preview',
  });
  const store = await describeStore(MONGODB_URI, DLR_INFRA_PATH);
  const lines: string[] = [];
  try {
    await seed(reporting.db);
    await seedCommunication(reporting.db, communication.db);

    // The store's floor: every delivery of the communication paged by _id, as the preview's pass reads them.
    let t = performance.now();
    let after = '';
    let floorCount = 0;
    for (;;) {
      const page = await communication.db
        .collection<{ _id: string } & Document>('deliveries')
        .find({ communicationId: COMMUNICATION, _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(1_000)
        .toArray();
      floorCount += page.length;
      if (page.length < 1_000) break;
      after = page.at(-1)!._id;
    }
    const floorMs = performance.now() - t;
    say(`store floor: ${floorCount} deliveries paged by _id in ${seconds(floorMs)}`);

    say('starting communication and reporting (their own processes)');
    const system = await startSystem({
      natsUrl: NATS_URL,
      mongoUri: MONGODB_URI,
      namespace: `bench${randomBytes(4).toString('hex')}`,
      logDir: join('.dlr', `bench-preview-${new Date().toISOString().replaceAll(':', '-')}`),
      logLevel: 'warn',
      only: ['communication', 'reporting'],
      // communication's start builds its indexes over the seeded deliveries (minutes on FerretDB v1).
      readyTimeoutMs: 900_000,
      extraEnv: { reporting: { MONGODB_DB: REPORTING_DB }, communication: { MONGODB_DB: COMMUNICATION_DB } },
      log: say,
    });
    const api = communicationClient(system.communicationGrpc, system.operatorToken);
    try {
      // Preview: the first answer, then its progress until the counts are complete.
      t = performance.now();
      let p = await api.preview({ communicationId: COMMUNICATION, pageSize: 100, pageToken: '' });
      const previewFirst = performance.now() - t;
      say(
        `preview answered in ${previewFirst.toFixed(0)} ms: ${p.progress!.checkedCount} of ${p.progress!.totalCount} checked`,
      );
      while (!p.progress!.finished) {
        await new Promise((r) => setTimeout(r, 1_000));
        const q = performance.now();
        p = await api.preview({ communicationId: COMMUNICATION, pageSize: 100, pageToken: '' });
        say(
          `preview progress: ${p.progress!.checkedCount} of ${p.progress!.totalCount} (answered in ${(performance.now() - q).toFixed(0)} ms)`,
        );
      }
      const previewDone = performance.now() - t;
      t = performance.now();
      const again = await api.preview({ communicationId: COMMUNICATION, pageSize: 100, pageToken: '' });
      const previewAgain = performance.now() - t;
      const email = again.channels[0]!;
      say(`preview: first answer ${previewFirst.toFixed(0)} ms; counts complete after ${seconds(previewDone)}`);
      lines.push(
        `preview: first answer ${previewFirst.toFixed(0)} ms; counts complete after ${seconds(previewDone)} (${again.recipientCount} recipients, email will send ${email.willSend}, opted out ${email.optedOut}); a view of the finished summary ${previewAgain.toFixed(0)} ms`,
      );

      // Resend: as if the communication had been sent (the bench does not send 200 000 messages).
      await communication.db
        .collection<{ _id: string } & Document>('communications')
        .updateOne({ _id: COMMUNICATION }, { $set: { state: 'sent', sendStartedAt: new Date(), sentAt: new Date() } });
      const requestId = `bench${randomBytes(4).toString('hex')}`;
      // A repeat of the same request is how a client follows it (and how it retries an UNAVAILABLE).
      const resend = async (): Promise<Awaited<ReturnType<typeof api.resend>>> => {
        for (;;) {
          try {
            return await api.resend({
              communicationId: COMMUNICATION,
              requestId,
              scope: ResendScope.RESEND_SCOPE_NOT_DELIVERED,
              operator: 'bench',
            });
          } catch (error) {
            if ((error as { code?: number }).code !== 14) throw error; // 14: UNAVAILABLE
            say(`resend answered UNAVAILABLE (${(error as Error).message}); asking again`);
            await new Promise((res) => setTimeout(res, 1_000));
          }
        }
      };
      t = performance.now();
      let r = await resend();
      const resendFirst = performance.now() - t;
      say(`resend answered in ${resendFirst.toFixed(0)} ms`);
      while (r.finishedAt === undefined) {
        await new Promise((res) => setTimeout(res, 1_000));
        const q = performance.now();
        r = await resend();
        say(
          `resend progress: ${r.examinedCount} of ${r.totalCount} looked at, ${r.resentCount} resent (answered in ${(performance.now() - q).toFixed(0)} ms)${r.problem ? `; problem: ${r.problem}` : ''}`,
        );
      }
      const resendDone = performance.now() - t;
      lines.push(
        `resend (not delivered): first answer ${resendFirst.toFixed(0)} ms; finished after ${seconds(resendDone)}: ${r.resentCount} records given a new attempt (${Math.round(r.resentCount / (resendDone / 1000))}/s), ${r.examinedCount} of ${r.totalCount} looked at`,
      );
    } finally {
      api.close();
      await system.stop();
    }
    lines.push(
      `store floor: the bare driver pages the ${floorCount} deliveries by _id in ${seconds(floorMs)} (${Math.round(floorCount / (floorMs / 1000))}/s)`,
      `records: ${RECORDS} in one communication`,
      `machine: ${describeHost()}`,
      `store: ${store}`,
    );
    process.stdout.write(`\nbench:preview\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  } finally {
    await reporting.close();
    await communication.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
