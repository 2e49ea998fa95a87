// The block of figures the benchmark prints at the end.
import type { StoreCeilings } from './ceilings.js';
import type { BenchConfig } from './config.js';
import type { LoadResult } from './load.js';
import type { PipelineState } from './pipeline.js';
import type { Plan } from './plan.js';
import { countDiff } from './report.js';
import type { Verdict } from './settle.js';
import { ms, percentile, perSecond } from './stats.js';

/** Everything the summary prints. */
export interface Figures {
  readonly machine: string;
  readonly config: BenchConfig;
  readonly plan: Plan;
  readonly setupSeconds: number;
  readonly load: LoadResult;
  readonly redelivered: { readonly tried: number; readonly accepted: number };
  /** Distinct events answered 2xx, and posted but never answered 2xx. */
  readonly events: { readonly accepted: number; readonly uncertain: number };
  readonly verdict: Verdict;
  /** First post → the report showing the ground truth (undefined when it did not). */
  readonly drainSeconds: number | undefined;
  readonly fastifyPerSecond: number;
  readonly store: StoreCeilings;
  /** 1-minute load average when the ceilings were measured. */
  readonly ceilingLoad: number;
  readonly pollTimeoutMs: number;
  readonly logs: readonly string[];
}

/** The summary block, one figure per line. */
export function summary(f: Figures): string {
  const { config, load, verdict, plan } = f;
  return [
    '',
    `run: ${config.recipients} records (all Pending in the report ${f.setupSeconds.toFixed(1)} s after the first ` +
      `AddRecipients), ${plan.distinctEvents} distinct events, seed ${config.seed}, log level ${config.logLevel}, ` +
      `provider-callback: ${EDGE_MODES[config.edge]}`,
    `machine: ${f.machine}`,
    callbacksLine(f),
    `webhook latency: p50 ${ms(percentile(load.latenciesMs, 50))}, p99 ${ms(percentile(load.latenciesMs, 99))}, ` +
      `max ${ms(load.latenciesMs.length ? Math.max(...load.latenciesMs) : Number.NaN)} ` +
      `(generator fire lag p99 ${ms(percentile(load.fireLagMs, 99))})`,
    freshnessLine(f),
    `ceilings: bare fastify ${perSecond(f.fastifyPerSecond)} req/s; ` +
      `store bulk-upsert ${perSecond(f.store.bulkUpsertDocsPerSecond)} docs/s ` +
      `(delivery-record-shaped, with reporting's indexes: ${perSecond(f.store.recordUpsertDocsPerSecond)} docs/s); ` +
      `store single updateOne ${perSecond(f.store.singleUpdateOpsPerSecond)} ops/s (load ${f.ceilingLoad.toFixed(1)})`,
    `share of the store: accepted events/s = ${share(load.acceptedPerSecond, f.store.bulkUpsertDocsPerSecond)} of ` +
      `the raw bulk-upsert rate, ${share(load.acceptedPerSecond, f.store.recordUpsertDocsPerSecond)} of the ` +
      `record-shaped rate`,
    drainLine(f),
    `final counts: ${verdictLine(verdict)}`,
    `pipeline at the end: ${verdict.pipeline ? pipelineLine(verdict.pipeline) : 'unknown'}; ` +
      `max redelivered seen ${verdict.maxRedelivered}`,
    eventsLine(f),
    ...(f.logs.length > 0
      ? ['warnings/errors logged:', ...f.logs.map((l) => `  ${l}`)]
      : ['warnings/errors logged: none']),
    '',
  ].join('\n');
}

const EDGE_MODES: Record<Figures['config']['edge'], string> = {
  split: 'webhooks on one replica, consumers on another',
  deferred: 'webhooks on one replica, its consumers started when posting ended',
  off: 'one replica for webhooks and consumers',
};

/** How fast the accepted events reached the report, against what the store alone can write. */
function drainLine({ drainSeconds, events, store }: Figures): string {
  if (drainSeconds === undefined) return 'drain into the report: did not reach the ground truth';
  const rate = events.accepted / drainSeconds;
  return (
    `drain into the report: ${events.accepted} events shown ${drainSeconds.toFixed(1)} s after the first post = ` +
    `${perSecond(rate)} events/s = ${share(rate, store.recordUpsertDocsPerSecond)} of the record-shaped bulk-upsert rate`
  );
}

function share(part: number, whole: number): string {
  return whole > 0 && Number.isFinite(part) ? `${((part / whole) * 100).toFixed(0)} %` : 'n/a';
}

/** Distinct events accepted vs. provider events JetStream stored: none lost, none extra. */
function eventsLine({ events, redelivered, verdict }: Figures): string {
  const again =
    redelivered.tried > 0
      ? ` (${redelivered.tried} unanswered events posted again after the run, ${redelivered.accepted} accepted then)`
      : '';
  // The callbacks stream is the commit point (one event per simulator callback); the delivery stream
  // holds what provider-callback's consumer has normalized so far.
  const committed = verdict.pipeline?.committedCallbacks;
  const check =
    committed === undefined
      ? 'stream not read'
      : committed < events.accepted
        ? `LOST: the callbacks stream holds only ${committed}`
        : committed > events.accepted + events.uncertain
          ? `EXTRA: the callbacks stream holds ${committed}`
          : `the callbacks stream holds ${committed}, as expected (${verdict.pipeline?.providerEvents} normalized into the delivery stream)`;
  return `events: ${events.accepted} distinct accepted, ${events.uncertain} of unknown fate${again}; ${check}`;
}

function callbacksLine({ config, load }: Figures): string {
  const non2xx = [...load.non2xx.values()].reduce((a, b) => a + b, 0);
  const detail = [...load.non2xx.entries()].map(([status, n]) => `${status === 0 ? 'no answer' : status}×${n}`);
  const dropped = load.dropped > 0 ? `, ${load.dropped} dropped at the in-flight cap ${config.maxInFlight}` : '';
  const abandoned = load.abandoned > 0 ? `, ${load.abandoned} abandoned unanswered after the drain bound` : '';
  return (
    `callbacks: target ${config.rate}/s for ${config.seconds} s, posted ${load.posted} ` +
    `(dups ${load.duplicatesPosted}${dropped}${abandoned}), accepted/s ${perSecond(load.acceptedPerSecond)}, ` +
    `non-2xx ${non2xx}${non2xx > 0 ? ` (${detail.join(', ')})` : ''}`
  );
}

function freshnessLine({ config, load, pollTimeoutMs }: Figures): string {
  const notes = [
    load.freshnessTimeouts > 0 ? `${load.freshnessTimeouts} not visible within ${pollTimeoutMs / 1_000} s` : '',
    load.freshnessCut > 0 ? `${load.freshnessCut} still polled at the drain bound` : '',
    load.freshnessSkipped > 0 ? `${load.freshnessSkipped} skipped at the poller cap ${config.maxPollers}` : '',
  ].filter(Boolean);
  return (
    `freshness lag (2xx → visible in report): p50 ${ms(percentile(load.freshnessMs, 50))}, ` +
    `p99 ${ms(percentile(load.freshnessMs, 99))} (${load.freshnessMs.length} samples${notes.map((n) => `, ${n}`).join('')})`
  );
}

/** One line on the reporting pipeline. */
export function pipelineLine(s: PipelineState): string {
  return (
    `committed: ${s.committedCallbacks} callbacks (${s.callbackBacklog} not normalized yet), ${s.providerEvents} provider events; ` +
    `reporting: ${s.backlog} waiting, ${s.ackPending} in progress` +
    (s.redelivered > 0 ? `, ${s.redelivered} redelivered` : '') +
    (s.deadLettered > 0 ? `, ${s.deadLettered} dead-lettered` : '')
  );
}

function verdictLine(v: Verdict): string {
  const total = Object.values(v.expected).reduce((a, b) => a + b, 0);
  const expected = Object.entries(v.expected)
    .map(([s, n]) => `${s}=${n}`)
    .join(' ');
  const waited = `${(v.waitedMs / 1_000).toFixed(1)} s`;
  const uncertain =
    v.uncertainRecords > 0 ? `; ${v.uncertainRecords} records checked one by one (events of unknown fate)` : '';
  const counts = v.actual
    ? countDiff(v.actual, v.expected)
        .map((d) => `${d.status} expected ${d.expected} got ${d.actual}`)
        .join(', ')
    : 'no counts could be read';
  switch (v.outcome) {
    case 'match':
      return `match ground truth (${total} records: ${expected}; after ${waited}${uncertain})`;
    case 'mismatch': {
      const pairs = new Map<string, number>();
      for (const w of v.wrong)
        pairs.set(`${w.expected}→${w.actual}`, (pairs.get(`${w.expected}→${w.actual}`) ?? 0) + 1);
      const examples = v.wrong.slice(0, 3).map((w) => w.deliveryId);
      return (
        `MISMATCH (reporting idle, counts stable after ${waited}): ${v.wrong.length} records wrong ` +
        `(${[...pairs.entries()].map(([p, n]) => `${p} ×${n}`).join(', ')}; e.g. ${examples.join(' ')}); counts: ${counts || 'equal'}`
      );
    }
    case 'not settled': {
      const left = v.pipeline ? v.pipeline.callbackBacklog + v.pipeline.backlog + v.pipeline.ackPending : undefined;
      const rate = v.drainPerSecond === undefined ? 'unknown' : `${v.drainPerSecond.toFixed(1)} events/s`;
      return (
        `MISMATCH — NOT SETTLED after ${waited}: ${left ?? '?'} events still to normalize or project ` +
        `(draining at ${rate}); counts: ${counts || 'equal'}`
      );
    }
  }
}
