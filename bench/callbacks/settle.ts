// After the load: waiting until the report shows the ground truth, and deciding whether it does.
import type { HttpClient } from './http.js';
import { idle, type PipelineProbe, type PipelineState } from './pipeline.js';
import { countStatuses, type BenchStatus, type Expectation } from './plan.js';
import { countDiff, readCounts, readStatuses, wrongRecords, type ReportCounts, type WrongRecord } from './report.js';
import { sleep } from './stats.js';

/** Reporting idle and counts unchanged this long: the report is final. */
const STABLE_MS = 5_000;
/** How long the drain rate is observed before deciding that the wait cannot succeed. */
const RATE_WINDOW_MS = 20_000;

/** How the wait ended. */
export interface Verdict {
  readonly outcome: 'match' | 'mismatch' | 'not settled';
  /** Counts from the accepted events alone. */
  readonly expected: Readonly<Record<BenchStatus, number>>;
  readonly actual: ReportCounts | undefined;
  readonly waitedMs: number;
  /** Records whose status the ground truth does not allow (checked record by record). */
  readonly wrong: readonly WrongRecord[];
  /** Records whose final status depends on events of unknown fate. */
  readonly uncertainRecords: number;
  /** Reporting's backlog when the wait ended and how fast it was shrinking. */
  readonly pipeline: PipelineState | undefined;
  readonly drainPerSecond: number | undefined;
  /** Highest count of redelivered in-flight events seen. */
  readonly maxRedelivered: number;
}

/** What the wait needs. */
export interface SettleInput {
  readonly reporting: HttpClient;
  readonly probe: PipelineProbe;
  readonly communicationId: string;
  readonly deliveryIds: readonly string[];
  readonly expectations: readonly Expectation[];
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

/**
 * Polls the counts and reporting's backlog every second. Ends with `match` as soon as the counts
 * equal the ground truth (when no record is uncertain); once reporting is idle and the counts
 * have not changed for 5 s, checks record by record (`match` or `mismatch`); ends `not settled`
 * at the timeout, or early when the backlog shrinks too slowly to be done in time.
 */
export async function settle(input: SettleInput): Promise<Verdict> {
  const expected = countStatuses(input.expectations.map((e) => e.status));
  const uncertainRecords = input.expectations.filter((e) => e.possible.size > 1).length;
  const started = Date.now();
  const drain = new DrainRate();
  let counts: ReportCounts | undefined;
  let pipeline: PipelineState | undefined;
  let stableSince = Date.now();
  let lastProgress = Date.now();
  const verdict = (outcome: Verdict['outcome'], wrong: readonly WrongRecord[] = []): Verdict => ({
    outcome,
    expected,
    actual: counts,
    waitedMs: Date.now() - started,
    wrong,
    uncertainRecords,
    pipeline,
    drainPerSecond: drain.perSecond(),
    maxRedelivered: input.probe.maxRedelivered,
  });
  for (;;) {
    const previous = JSON.stringify(counts?.counts);
    counts = await readCounts(input.reporting, input.communicationId).catch(() => counts);
    pipeline = await input.probe.read().catch(() => pipeline);
    if (pipeline) drain.add(pipeline.callbackBacklog + pipeline.backlog + pipeline.ackPending);
    if (uncertainRecords === 0 && counts && countDiff(counts, expected).length === 0) return verdict('match');
    if (!(pipeline && idle(pipeline) && JSON.stringify(counts?.counts) === previous)) stableSince = Date.now();
    if (Date.now() - stableSince >= STABLE_MS) {
      const statuses = await readStatuses(input.reporting, input.communicationId);
      const wrong = wrongRecords(statuses, input.deliveryIds, input.expectations);
      return verdict(wrong.length === 0 ? 'match' : 'mismatch', wrong);
    }
    const remainingMs = input.timeoutMs - (Date.now() - started);
    if (remainingMs <= 0 || input.signal.aborted || drain.hopeless(remainingMs)) return verdict('not settled');
    if (pipeline && Date.now() - lastProgress >= 10_000) {
      lastProgress = Date.now();
      input.progress(
        `settling: ${pipeline.callbackBacklog} callbacks not normalized yet; reporting ${pipeline.backlog} waiting, ${pipeline.ackPending} in progress`,
      );
    }
    await sleep(1_000);
  }
}

/** How fast the outstanding work (callbacks to normalize, reporting's backlog) shrinks, from samples since the wait began. */
class DrainRate {
  readonly #samples: { at: number; work: number }[] = [];

  add(work: number): void {
    this.#samples.push({ at: Date.now(), work });
  }

  /** Events per second from the first sample to the last, once {@link RATE_WINDOW_MS} / 2 apart. */
  perSecond(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < RATE_WINDOW_MS / 2) return undefined;
    return ((first.work - last.work) / (last.at - first.at)) * 1_000;
  }

  /** True when, after {@link RATE_WINDOW_MS}, the outstanding work needs over twice the time left at this rate. */
  hopeless(remainingMs: number): boolean {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < RATE_WINDOW_MS || last.work === 0) return false;
    const rate = this.perSecond();
    return rate === undefined || rate <= 0 || (last.work / rate) * 1_000 > 2 * remainingMs;
  }
}
