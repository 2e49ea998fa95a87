// Benchmark of the provider-callback → reporting path of the running system on this machine:
// starts the whole system, posts signed simulator callbacks at a fixed rate (open model) for
// delivery records of one communication, and prints webhook latency, accepted rate, how long a
// status takes to show in the report, whether the report ends with the ground truth, and raw
// ceilings of this machine (bare fastify, store upserts). Run: `npm run bench:callbacks`.
// Exit code 0 when the report matches, 1 when it does not (or on error), 130 when interrupted.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { communicationClient, REPO_ROOT, startSystem, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { bareFastifyCeiling, storeCeilings } from './ceilings.js';
import { dropNamespace } from './cleanup.js';
import { readConfig, type BenchConfig } from './config.js';
import { HttpClient } from './http.js';
import { redeliver, runLoad, type LoadProgress, type LoadResult, type LoadTarget } from './load.js';
import { logProblems } from './logs.js';
import { describeHost, describeNats, describeStore, loadAverage } from './machine.js';
import { PipelineProbe } from './pipeline.js';
import { buildPlan, expectations, seededRandom, type Plan, type PlannedEvent } from './plan.js';
import { readCounts } from './report.js';
import { settle, type Verdict } from './settle.js';
import { addRecipients, createCommunication, RECIPIENT_BATCH } from './setup.js';
import { sleep } from './stats.js';
import { pipelineLine, summary } from './summary.js';

/** Posts' answer timeout; an unanswered post counts as non-2xx (status 0) and is posted again later. */
const POST_TIMEOUT_MS = 30_000;
/** Reads of the report; a slower answer counts as none (the settle loop keeps ticking). */
const READ_TIMEOUT_MS = 10_000;
/** After the schedule, longest wait for posts still in flight. */
const DRAIN_MS = 20_000;
/** Longest time spent posting unanswered events again. */
const REDELIVER_MS = 20_000;
const POLL_INTERVAL_MS = 20;
const POLL_TIMEOUT_MS = 30_000;
/** Concurrency of the bare-fastify ceiling. */
const CEILING_CONCURRENCY = 64;

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** What the system did with the load. */
interface Measured {
  readonly plan: Plan;
  readonly setupSeconds: number;
  readonly load: LoadResult;
  readonly redelivered: { readonly tried: number; readonly accepted: number };
  readonly events: { readonly accepted: number; readonly uncertain: number };
  readonly verdict: Verdict;
  /** First post → the report showing the ground truth (undefined when it did not). */
  readonly drainSeconds: number | undefined;
}

async function main(): Promise<number> {
  const config = readConfig(process.env);
  const { NATS_URL, MONGODB_URI, DLR_INFRA_PATH } = process.env;
  if (!NATS_URL || !MONGODB_URI) {
    throw new Error('NATS_URL and MONGODB_URI must be set (run `npm run bench:callbacks`, which provides them)');
  }
  const interrupted = interruptOnSignals();
  const [store, nats] = await Promise.all([describeStore(MONGODB_URI, DLR_INFRA_PATH), describeNats(NATS_URL)]);
  const machine = `${describeHost()}, store: ${store}, NATS ${nats}`;

  const webhookSecret = randomBytes(24).toString('base64url');
  const namespace = `bench${randomBytes(4).toString('hex')}`;
  const logDir = join(REPO_ROOT, '.dlr', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  say(`namespace ${namespace}, seed ${config.seed}, log level ${config.logLevel}, logs in ${logDir}`);
  const system = await startSystem({
    natsUrl: NATS_URL,
    mongoUri: MONGODB_URI,
    namespace,
    logDir,
    logLevel: config.logLevel,
    log: say,
    extraEnv: {
      // An edge replica answers the webhooks; a second replica (below) runs the consumers behind them.
      'provider-callback': {
        SIMULATOR_WEBHOOK_SECRET: webhookSecret,
        CALLBACK_ROLE: config.edge === 'off' ? 'all' : 'webhooks',
      },
      'provider-simulator': { SIMULATOR_WEBHOOK_SECRET: webhookSecret },
    },
  });
  let measured: Measured | undefined;
  try {
    const startConsumers = async () => {
      await system.startReplica('provider-callback', { CALLBACK_ROLE: 'all' });
    };
    if (config.edge === 'split') await startConsumers();
    const afterLoad = config.edge === 'deferred' ? startConsumers : async () => {};
    if (!interrupted.aborted) {
      measured = await measureSystem(system, NATS_URL, config, webhookSecret, afterLoad, interrupted);
    }
  } finally {
    say('stopping the system');
    const codes = await system.stop();
    const unclean = Object.entries(codes).filter(([, code]) => code !== 0);
    if (unclean.length > 0) say(`processes that did not exit 0: ${unclean.map(([n, c]) => `${n}=${c}`).join(' ')}`);
    if (config.keep) say(`kept namespace ${namespace} (BENCH_KEEP=1): its databases and streams stay`);
    else {
      // Left behind, each run's databases slow the store down for the next run.
      const dropped = await dropNamespace(MONGODB_URI, NATS_URL, namespace).catch((error: unknown) => {
        say(`could not remove namespace ${namespace}: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (dropped) say(`removed namespace ${namespace}: ${dropped.databases} databases, ${dropped.streams} streams`);
    }
  }
  if (!measured || interrupted.aborted) return 130;

  say(`ceilings: bare fastify, then store upserts (${config.ceilingSeconds} s each)`);
  const ceilingLoad = loadAverage();
  const fastifyPerSecond = await bareFastifyCeiling(
    config.ceilingSeconds,
    CEILING_CONCURRENCY,
    ceilingBody(),
    interrupted,
  );
  const storeFigures = await storeCeilings(MONGODB_URI, config.ceilingSeconds, interrupted);
  if (interrupted.aborted) return 130;
  const logs = logProblems(logDir);
  process.stdout.write(
    summary({
      machine,
      config,
      ...measured,
      fastifyPerSecond,
      ceilingLoad,
      store: storeFigures,
      pollTimeoutMs: POLL_TIMEOUT_MS,
      logs,
    }),
  );
  return measured.verdict.outcome === 'match' ? 0 : 1;
}

/** Aborts on the first SIGINT/SIGTERM; the phases then end early and the system is stopped. */
function interruptOnSignals(): AbortSignal {
  const controller = new AbortController();
  // Requests listen to it while they run.
  setMaxListeners(0, controller.signal);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (!controller.signal.aborted) say(`${sig}: stopping`);
      controller.abort();
    });
  }
  return controller.signal;
}

async function measureSystem(
  system: RunningSystem,
  natsUrl: string,
  config: BenchConfig,
  webhookSecret: string,
  afterLoad: () => Promise<void>,
  signal: AbortSignal,
): Promise<Measured | undefined> {
  const callbacks = new HttpClient(system.providerCallbackUrl, { timeoutMs: POST_TIMEOUT_MS });
  const reporting = new HttpClient(system.reportingUrl, {
    timeoutMs: READ_TIMEOUT_MS,
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  const api = communicationClient(system.communicationGrpc, system.operatorToken);
  const probe = await PipelineProbe.open(natsUrl, system.namespace);
  try {
    const setup = await setupCommunication(api, reporting, config, signal);
    if (!setup) return undefined;
    const { communicationId, deliveryIds, setupSeconds } = setup;
    const target: LoadTarget = { callbacks, reporting, webhookSecret, communicationId, deliveryIds };
    const plan = buildPlan({
      deliveries: config.recipients,
      rate: config.rate,
      seconds: config.seconds,
      duplicateRate: config.duplicateRate,
      sampleEvery: config.sampleEvery,
      tag: `bench-${config.seed.toString(36)}-${randomBytes(3).toString('hex')}`,
      random: seededRandom(config.seed),
    });
    say(
      `posting ${plan.posts.length} callbacks (${plan.distinctEvents} events + ${plan.duplicates} duplicates) at ` +
        `${config.rate}/s to ${plan.deliveriesTouched} of ${config.recipients} records`,
    );
    const loadStarted = Date.now();
    const load = await runLoad(plan, target, {
      maxInFlight: config.maxInFlight,
      maxPollers: config.maxPollers,
      pollIntervalMs: POLL_INTERVAL_MS,
      pollTimeoutMs: POLL_TIMEOUT_MS,
      drainMs: DRAIN_MS,
      signal,
      onProgress: (p) => reportProgress(p, probe),
    });
    if (signal.aborted) return undefined;
    if (config.edge === 'deferred') say('posting done: starting the provider-callback replica that runs its consumers');
    await afterLoad();
    const again = await redeliverUnanswered(load, target, signal);
    const accepted = new Set([...load.acceptedEvents, ...again]);
    const uncertain = [...load.postedEvents].filter((e) => !accepted.has(e));
    say(`waiting up to ${config.settleSeconds} s for the report to reach the ground truth`);
    const verdict = await settle({
      reporting,
      probe,
      communicationId,
      deliveryIds,
      expectations: expectations(config.recipients, eventsInOrder(plan, accepted), uncertain),
      timeoutMs: config.settleSeconds * 1_000,
      signal,
      progress: say,
    });
    const drainSeconds = verdict.outcome === 'match' ? (Date.now() - loadStarted) / 1_000 : undefined;
    const redelivered = { tried: load.postedEvents.size - load.acceptedEvents.size, accepted: again.size };
    const events = { accepted: accepted.size, uncertain: uncertain.length };
    return { plan, setupSeconds, load, redelivered, events, verdict, drainSeconds };
  } finally {
    api.close();
    await Promise.all([callbacks.close(), reporting.close(), probe.close()]);
  }
}

/**
 * Creates the communication and adds its recipients one batch at a time, each time waiting until
 * the report shows every record so far Pending (batches projected concurrently can stall on a
 * busy machine with FerretDB; see README.md).
 */
async function setupCommunication(
  api: CommunicationApi,
  reporting: HttpClient,
  config: BenchConfig,
  signal: AbortSignal,
): Promise<{ communicationId: string; deliveryIds: string[]; setupSeconds: number } | undefined> {
  const { recipients } = config;
  say(`creating a communication with ${recipients} email recipients (not sent)`);
  const communicationId = await createCommunication(api);
  const deliveryIds: string[] = [];
  const started = Date.now();
  while (deliveryIds.length < recipients) {
    const count = Math.min(RECIPIENT_BATCH, recipients - deliveryIds.length);
    deliveryIds.push(...(await addRecipients(api, communicationId, deliveryIds.length, count)));
    const deadline = Date.now() + config.settleSeconds * 1_000;
    for (;;) {
      const counts = await readCounts(reporting, communicationId).catch(() => undefined);
      if (counts?.total === deliveryIds.length && counts.counts.pending === deliveryIds.length) break;
      if (signal.aborted) return undefined;
      if (Date.now() > deadline) {
        throw new Error(
          `the report did not show ${deliveryIds.length} Pending records within ${config.settleSeconds} s: ` +
            JSON.stringify(counts ?? 'no answer'),
        );
      }
      await sleep(500);
    }
  }
  const setupSeconds = (Date.now() - started) / 1_000;
  say(`${recipients} Pending records in the report after ${setupSeconds.toFixed(1)} s`);
  return { communicationId, deliveryIds, setupSeconds };
}

/** Posts again the events none of whose posts got a 2xx, so that as few as possible stay of unknown fate. */
async function redeliverUnanswered(
  load: LoadResult,
  target: LoadTarget,
  signal: AbortSignal,
): Promise<ReadonlySet<PlannedEvent>> {
  const count = load.postedEvents.size - load.acceptedEvents.size;
  if (count === 0) return new Set();
  say(
    `posting again the ${count} events that never got a 2xx, as a provider retries (up to ${REDELIVER_MS / 1_000} s)`,
  );
  return redeliver(load, target, { tries: 3, concurrency: 8, timeLimitMs: REDELIVER_MS, signal });
}

/** The accepted events in post order. */
function eventsInOrder(plan: Plan, accepted: ReadonlySet<PlannedEvent>): PlannedEvent[] {
  return plan.posts.map((p) => p.event).filter((e) => accepted.has(e));
}

function reportProgress(p: LoadProgress, probe: PipelineProbe): void {
  const line =
    `t=${p.elapsedSeconds.toFixed(0)}s posted ${p.posted}, accepted ${p.accepted}, in flight ${p.inFlight}` +
    (p.dropped > 0 ? `, dropped ${p.dropped}` : '');
  probe.read().then(
    (s) => say(`${line}; ${pipelineLine(s)}`),
    () => say(line),
  );
}

/** A callback body of the benchmark's size, for the bare-fastify ceiling. */
function ceilingBody(): string {
  return JSON.stringify({
    eventId: 'bench-ceiling-000000',
    messageId: 'sim_bench_0',
    type: 'delivered',
    occurredAt: new Date().toISOString(),
    metadata: { deliveryId: `d_${'x'.repeat(22)}`, communicationId: `c_${'x'.repeat(16)}`, attempt: 1 },
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
