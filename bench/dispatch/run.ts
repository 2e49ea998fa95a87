// Benchmark of sending: starts the whole system, creates a communication with N recipients (half
// email, half SMS) through communication's gRPC API, sends it through the provider simulator with
// no provider rate limit, and prints how fast dispatch handed the messages to the provider, how long
// until no record is Pending in the report, and the store's own bulk-insert rate for attempt-shaped
// documents in the same run. Run: `npm run bench:dispatch` (BENCH_RECIPIENTS, default 20 000).
// Exit code 0 when every message reached the provider and every record left Pending, 1 otherwise.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Channel, RecipientInput, SendCommunicationRequest } from '@dlr/contracts';
import { communicationClient, REPO_ROOT, startSystem, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { MongoClient } from 'mongodb';
import { dropNamespace } from '../callbacks/cleanup.js';
import { HttpClient } from '../callbacks/http.js';
import { describeHost, describeNats, describeStore, loadAverage } from '../callbacks/machine.js';
import { readCounts } from '../callbacks/report.js';
import { sleep } from '../callbacks/stats.js';
import { bulkInsertRate } from './store.js';

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const RECIPIENT_BATCH = 1_000;
const PROGRESS_MS = 2_000;

function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max} (got ${raw})`);
  }
  return value;
}

async function main(): Promise<number> {
  const recipients = Math.round(setting('BENCH_RECIPIENTS', 20_000, 2, 200_000));
  const settleSeconds = setting('BENCH_SETTLE_SECONDS', 900, 1, 7_200);
  const ceilingSeconds = setting('BENCH_CEILING_SECONDS', 5, 1, 600);
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const { NATS_URL, MONGODB_URI, DLR_INFRA_PATH } = process.env;
  if (!NATS_URL || !MONGODB_URI) {
    throw new Error('NATS_URL and MONGODB_URI must be set (run `npm run bench:dispatch`, which provides them)');
  }
  const interrupted = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => interrupted.abort());
  const [store, nats] = await Promise.all([describeStore(MONGODB_URI, DLR_INFRA_PATH), describeNats(NATS_URL)]);
  const machine = `${describeHost()}, store: ${store}, NATS ${nats}`;
  const namespace = `benchd${randomBytes(4).toString('hex')}`;
  const logDir = join(REPO_ROOT, '.dlr', `bench-dispatch-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  say(`namespace ${namespace}, ${recipients} recipients, logs in ${logDir}`);
  const system = await startSystem({
    natsUrl: NATS_URL,
    mongoUri: MONGODB_URI,
    namespace,
    logDir,
    logLevel,
    log: say,
    // No provider rate limit: the figure is dispatch's own.
    extraEnv: {
      dispatch: {
        // Its one line per batch (sizes and phase times) goes to dispatch.log.
        LOG_LEVEL: process.env.BENCH_DISPATCH_LOG_LEVEL ?? 'info',
        SIMULATOR_RATE_PER_SECOND: '0',
        DISPATCH_CONCURRENCY: process.env.DISPATCH_CONCURRENCY ?? '64',
      },
    },
  });
  let result: Measured | undefined;
  try {
    result = await measure(system, MONGODB_URI, recipients, settleSeconds, interrupted.signal);
  } finally {
    say('stopping the system');
    await system.stop();
    await dropNamespace(MONGODB_URI, NATS_URL, namespace).catch((error: unknown) => say(`cleanup: ${String(error)}`));
  }
  if (!result || interrupted.signal.aborted) return 130;
  say(`store ceiling: bulk insert of attempt-shaped documents (${ceilingSeconds} s)`);
  const ceilingLoad = loadAverage();
  const storeRate = await bulkInsertRate(MONGODB_URI, ceilingSeconds, interrupted.signal);
  const { handed, sendSeconds, pendingLeft, settledSeconds, loadDuring } = result;
  const rate = handed / sendSeconds;
  const lines = [
    `machine: ${machine}`,
    `recipients: ${recipients} (${Math.ceil(recipients / 2)} email, ${Math.floor(recipients / 2)} SMS), load ${loadDuring.toFixed(1)} at the end of the send`,
    pendingLeft === 0
      ? `report: every record out of Pending ${settledSeconds.toFixed(1)} s after Send`
      : `report: ${pendingLeft} records still Pending after ${settledSeconds.toFixed(1)} s`,
    `share of the store's rate: ${((100 * rate) / storeRate).toFixed(1)} % (load ${ceilingLoad.toFixed(1)} during the store measurement)`,
    `dispatch: ${handed} messages handed to the provider in ${sendSeconds.toFixed(1)} s (${rate.toFixed(0)}/s)`,
    `store: bulk insert ${storeRate.toFixed(0)} docs/s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return handed === recipients && pendingLeft === 0 ? 0 : 1;
}

interface Measured {
  readonly handed: number;
  readonly sendSeconds: number;
  readonly pendingLeft: number;
  readonly settledSeconds: number;
  readonly loadDuring: number;
}

async function measure(
  system: RunningSystem,
  mongoUri: string,
  recipients: number,
  settleSeconds: number,
  signal: AbortSignal,
): Promise<Measured | undefined> {
  const api = communicationClient(system.communicationGrpc, system.operatorToken);
  const reporting = new HttpClient(system.reportingUrl, {
    timeoutMs: 10_000,
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  const dispatchAdmin = new HttpClient(system.adminUrls.dispatch, { timeoutMs: 10_000 });
  const simulator = new HttpClient(system.simulatorUrl, {
    timeoutMs: 10_000,
    headers: { authorization: `Bearer ${system.simulatorApiKey}` },
  });
  // Dispatch's own record of what it handed over: attempts with a result.
  const mongo = await MongoClient.connect(mongoUri, { appName: 'bench-dispatch' });
  const attempts = mongo.db(`${system.namespace}_dispatch`).collection('attempts');
  try {
    const communicationId = await setup(api, reporting, recipients, settleSeconds, signal);
    if (communicationId === undefined) return undefined;
    say('Send');
    const sentAt = Date.now();
    await api.send(SendCommunicationRequest.fromPartial({ communicationId }));
    const deadline = sentAt + settleSeconds * 1_000;
    let finished = 0;
    let loadDuring = loadAverage();
    // Progress from dispatch's own metrics, not the store: a count of attempts scans the collection
    // on FerretDB v1 and took an eighth of the store's CPU during the send.
    while (finished < recipients && Date.now() < deadline && !signal.aborted) {
      await sleep(PROGRESS_MS);
      finished = await providerCalls(dispatchAdmin).catch(() => finished);
      loadDuring = loadAverage();
      const seconds = (Date.now() - sentAt) / 1_000;
      say(
        `${seconds.toFixed(0)} s: ${finished}/${recipients} provider calls made (${(finished / seconds).toFixed(0)}/s), load ${loadDuring.toFixed(1)}`,
      );
    }
    finished = 0;
    while (finished < recipients && Date.now() < deadline && !signal.aborted) {
      finished = await attempts.countDocuments({ state: { $ne: 'sending' } }, { maxTimeMS: 10_000 }).catch(() => 0);
      if (finished < recipients) await sleep(PROGRESS_MS);
    }
    // The provider's own time of the last message it accepted (the outbox's newest).
    const last = JSON.parse((await simulator.get('/v1/messages?limit=1')).body) as {
      messages: { acceptedAt: string }[];
    };
    const lastAt = last.messages[0] ? Date.parse(last.messages[0].acceptedAt) : Date.now();
    const handed = await attempts.countDocuments({ state: 'sent' });
    const sendSeconds = (lastAt - sentAt) / 1_000;
    say(`${handed} accepted by the provider, the last ${sendSeconds.toFixed(1)} s after Send; waiting for the report`);
    let pendingLeft = recipients;
    while (!signal.aborted) {
      const counts = await readCounts(reporting, communicationId).catch(() => undefined);
      if (counts) pendingLeft = counts.counts.pending ?? 0;
      if (pendingLeft === 0 || Date.now() > deadline) break;
      say(`report: ${pendingLeft} Pending`);
      await sleep(PROGRESS_MS);
    }
    return { handed, sendSeconds, pendingLeft, settledSeconds: (Date.now() - sentAt) / 1_000, loadDuring };
  } finally {
    api.close();
    await Promise.all([reporting.close(), simulator.close(), dispatchAdmin.close(), mongo.close()]);
  }
}

/** Provider calls dispatch has made (every outcome), from its `dlr_provider_request_duration_seconds`. */
async function providerCalls(admin: HttpClient): Promise<number> {
  const { body } = await admin.get('/metrics');
  let calls = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith('dlr_provider_request_duration_seconds_count')) calls += Number(line.split(' ').at(-1)) || 0;
  }
  return calls;
}

/** Creates the communication (email and SMS) with its recipients; waits until all show Pending. */
async function setup(
  api: CommunicationApi,
  reporting: HttpClient,
  recipients: number,
  settleSeconds: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { communication } = await api.create({
    title: 'Benchmark: dispatch',
    emailSubject: 'Benchmark',
    emailBody: 'Benchmark message.',
    smsText: 'Benchmark message.',
    channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
    acknowledgementRequested: false,
    responseOptions: [],
  });
  if (!communication) throw new Error('CreateCommunication answered without a communication');
  const communicationId = communication.id;
  const started = Date.now();
  // One batch at a time, each waited for in the report: batches projected concurrently can stall
  // on a busy machine with FerretDB v1 (bench/callbacks/README.md).
  for (let from = 0; from < recipients; from += RECIPIENT_BATCH) {
    const rows = Array.from({ length: Math.min(RECIPIENT_BATCH, recipients - from) }, (_, k) => {
      const n = from + k;
      return RecipientInput.fromPartial(
        n % 2 === 0 ? { email: `r${n}@example.org` } : { phone: `+61400${String(n).padStart(6, '0')}` },
      );
    });
    await api.addRecipients({ communicationId, recipients: rows });
    const added = from + rows.length;
    const deadline = Date.now() + settleSeconds * 1_000;
    for (;;) {
      const counts = await readCounts(reporting, communicationId).catch(() => undefined);
      if (counts?.total === added && counts.counts.pending === added) break;
      if (signal.aborted) return undefined;
      if (Date.now() > deadline) {
        throw new Error(`the report did not show ${added} Pending records: ${JSON.stringify(counts)}`);
      }
      await sleep(500);
    }
    say(`${added}/${recipients} recipients Pending in the report`);
  }
  say(`${recipients} Pending records in the report after ${((Date.now() - started) / 1_000).toFixed(1)} s`);
  return communicationId;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench:dispatch failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
