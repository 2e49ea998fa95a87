// The open-model load generator: every post of the plan is fired at its scheduled time whether or
// not earlier posts have been answered, so a slow system shows up as latency (and, past the
// in-flight cap, as dropped posts) instead of as a slower generator. After a sampled post's 2xx,
// the delivery record is polled until the report shows its final status (the freshness lag).
import { SIMULATOR_SIGNATURE_HEADER, signSimulatorCallback, SIMULATOR_TIMESTAMP_HEADER } from '@dlr/contracts';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { HttpClient } from './http.js';
import { STATUS_OF, type Plan, type PlannedEvent, type PlannedPost } from './plan.js';
import { sleep } from './stats.js';

/** The simulator webhook path of provider-callback. */
export const CALLBACK_PATH = '/v1/callbacks/simulator';

/** Where the load goes and what it needs to build callbacks. */
export interface LoadTarget {
  readonly callbacks: HttpClient;
  readonly reporting: HttpClient;
  readonly webhookSecret: string;
  readonly communicationId: string;
  /** Delivery IDs by delivery index. */
  readonly deliveryIds: readonly string[];
}

/** Limits of the generator. */
export interface LoadOptions {
  /** Posts in flight at most; a post due while at the cap is dropped (and counted). */
  readonly maxInFlight: number;
  /** Records polled at once at most; a sample due while at the cap is skipped (and counted). */
  readonly maxPollers: number;
  /** Poll interval of the freshness measurement. */
  readonly pollIntervalMs: number;
  /** Longest a sampled record is polled before it counts as not visible. */
  readonly pollTimeoutMs: number;
  /** After the schedule, longest wait for the posts still in flight; the rest are then abandoned. */
  readonly drainMs: number;
  /** Ends the schedule and the polls early (Ctrl-C). */
  readonly signal: AbortSignal;
  /** Called every few seconds while the load runs. */
  readonly onProgress?: (progress: LoadProgress) => void;
}

/** Where a run is. */
export interface LoadProgress {
  readonly elapsedSeconds: number;
  readonly posted: number;
  readonly accepted: number;
  readonly inFlight: number;
  readonly dropped: number;
}

/** What the run measured. */
export interface LoadResult {
  readonly posted: number;
  readonly duplicatesPosted: number;
  readonly dropped: number;
  /** Posts still unanswered when the drain bound passed (abandoned; counted as no answer). */
  readonly abandoned: number;
  readonly accepted: number;
  /** Answers that were not 2xx, by status (0: no answer — connection error or timeout). */
  readonly non2xx: ReadonlyMap<number, number>;
  /** Request start → 2xx, ms. */
  readonly latenciesMs: readonly number[];
  /** Actual fire time − scheduled time, ms (how far the generator itself fell behind). */
  readonly fireLagMs: readonly number[];
  /** 2xx answers per second, from the first post to the last 2xx. */
  readonly acceptedPerSecond: number;
  /** 2xx → record visible with its final status, ms. */
  readonly freshnessMs: readonly number[];
  readonly freshnessTimeouts: number;
  /** Samples still being polled when the drain bound passed. */
  readonly freshnessCut: number;
  /** Samples not measured because `maxPollers` records were being polled already. */
  readonly freshnessSkipped: number;
  /** Distinct events posted at least once. */
  readonly postedEvents: ReadonlySet<PlannedEvent>;
  /** Distinct events that got a 2xx at least once. */
  readonly acceptedEvents: ReadonlySet<PlannedEvent>;
  /** The body each posted event was sent with (a repeat must be byte-identical). */
  readonly bodies: ReadonlyMap<PlannedEvent, string>;
}

const REASONS: Readonly<Record<PlannedEvent['type'], string | undefined>> = {
  delivered: undefined,
  bounce: 'mailbox full',
  failed: 'no such user',
};

const PROGRESS_EVERY_MS = 5_000;

/** Runs the plan's schedule against the system; resolves when every post and poll has finished. */
export async function runLoad(plan: Plan, target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const state = new LoadState();
  const running = new Set<Promise<void>>();
  const cutoff = new AbortController();
  // Every request in flight listens to it.
  setMaxListeners(0, cutoff.signal);
  const stop = () => cutoff.abort();
  options.signal.addEventListener('abort', stop, { once: true });
  const run: RunContext = { target, options, state, signal: cutoff.signal };
  const start = performance.now();
  const progress = setInterval(() => options.onProgress?.(state.progress(start)), PROGRESS_EVERY_MS);
  try {
    let next = 0;
    while (next < plan.posts.length && !cutoff.signal.aborted) {
      const now = performance.now() - start;
      for (; next < plan.posts.length && plan.posts[next]!.atMs <= now; next++) {
        const post = plan.posts[next]!;
        if (state.inFlight >= options.maxInFlight) {
          state.dropped += 1;
          continue;
        }
        state.fireLagMs.push(now - post.atMs);
        const task = firePost(post, run);
        running.add(task);
        void task.then(() => running.delete(task));
      }
      const due = plan.posts[next];
      if (due) await sleep(Math.max(0, due.atMs - (performance.now() - start)));
    }
    await Promise.race([settled(running), sleep(options.drainMs)]);
    state.abandoned = state.inFlight;
    cutoff.abort();
    await settled(running);
  } finally {
    clearInterval(progress);
    options.signal.removeEventListener('abort', stop);
  }
  return state.result(start);
}

/** What every post of one run needs. */
interface RunContext {
  readonly target: LoadTarget;
  readonly options: LoadOptions;
  readonly state: LoadState;
  /** Aborted at the drain bound or on Ctrl-C. */
  readonly signal: AbortSignal;
}

/** Resolves once the set is empty (tasks remove themselves when done). */
async function settled(running: Set<Promise<void>>): Promise<void> {
  while (running.size > 0) await Promise.all([...running]);
}

/** Mutable counters of one run. */
class LoadState {
  inFlight = 0;
  pollers = 0;
  posted = 0;
  duplicatesPosted = 0;
  dropped = 0;
  abandoned = 0;
  accepted = 0;
  lastAcceptedAt = 0;
  freshnessTimeouts = 0;
  freshnessCut = 0;
  freshnessSkipped = 0;
  readonly non2xx = new Map<number, number>();
  readonly latenciesMs: number[] = [];
  readonly fireLagMs: number[] = [];
  readonly freshnessMs: number[] = [];
  readonly postedEvents = new Set<PlannedEvent>();
  readonly acceptedEvents = new Set<PlannedEvent>();
  readonly bodies = new Map<PlannedEvent, string>();

  bodyOf(event: PlannedEvent, target: LoadTarget): string {
    const body = this.bodies.get(event) ?? callbackBody(event, target);
    this.bodies.set(event, body);
    return body;
  }

  progress(start: number): LoadProgress {
    return {
      elapsedSeconds: (performance.now() - start) / 1_000,
      posted: this.posted,
      accepted: this.accepted,
      inFlight: this.inFlight,
      dropped: this.dropped,
    };
  }

  result(start: number): LoadResult {
    const seconds = (this.lastAcceptedAt - start) / 1_000;
    return {
      posted: this.posted,
      duplicatesPosted: this.duplicatesPosted,
      dropped: this.dropped,
      abandoned: this.abandoned,
      accepted: this.accepted,
      non2xx: this.non2xx,
      latenciesMs: this.latenciesMs,
      fireLagMs: this.fireLagMs,
      acceptedPerSecond: seconds > 0 ? this.accepted / seconds : Number.NaN,
      freshnessMs: this.freshnessMs,
      freshnessTimeouts: this.freshnessTimeouts,
      freshnessCut: this.freshnessCut,
      freshnessSkipped: this.freshnessSkipped,
      postedEvents: this.postedEvents,
      acceptedEvents: this.acceptedEvents,
      bodies: this.bodies,
    };
  }
}

async function firePost(post: PlannedPost, run: RunContext): Promise<void> {
  const { state, target } = run;
  const body = state.bodyOf(post.event, target);
  state.inFlight += 1;
  state.posted += 1;
  if (post.duplicate) state.duplicatesPosted += 1;
  state.postedEvents.add(post.event);
  const sentAt = performance.now();
  const status = await postCallback(target, body, run.signal);
  const answeredAt = performance.now();
  state.inFlight -= 1;
  if (status < 200 || status > 299) {
    state.non2xx.set(status, (state.non2xx.get(status) ?? 0) + 1);
    return;
  }
  state.accepted += 1;
  state.lastAcceptedAt = Math.max(state.lastAcceptedAt, answeredAt);
  state.latenciesMs.push(answeredAt - sentAt);
  state.acceptedEvents.add(post.event);
  if (post.sampled) await measureFreshness(post.event, answeredAt, run);
}

/** Signs and posts one callback body; the HTTP status (0: no answer). */
async function postCallback(target: LoadTarget, body: string, signal: AbortSignal): Promise<number> {
  const timestamp = Math.floor(Date.now() / 1_000);
  const headers = {
    'content-type': 'application/json',
    [SIMULATOR_TIMESTAMP_HEADER]: String(timestamp),
    [SIMULATOR_SIGNATURE_HEADER]: signSimulatorCallback(target.webhookSecret, timestamp, body),
  };
  return (await target.callbacks.post(CALLBACK_PATH, headers, body, signal)).status;
}

/** The simulator callback JSON of an event (built once per event, so a duplicate is byte-identical). */
function callbackBody(event: PlannedEvent, target: LoadTarget): string {
  const reason = REASONS[event.type];
  return JSON.stringify({
    eventId: event.eventId,
    messageId: `sim_bench_${event.delivery}`,
    type: event.type,
    occurredAt: new Date().toISOString(),
    ...(reason === undefined ? {} : { reason }),
    metadata: { deliveryId: target.deliveryIds[event.delivery], communicationId: target.communicationId, attempt: 1 },
  });
}

async function measureFreshness(event: PlannedEvent, since: number, run: RunContext): Promise<void> {
  const { state, options } = run;
  if (state.pollers >= options.maxPollers) {
    state.freshnessSkipped += 1;
    return;
  }
  state.pollers += 1;
  try {
    const lag = await visibleAfter(event, since, run);
    if (lag !== undefined) state.freshnessMs.push(lag);
    else if (run.signal.aborted) state.freshnessCut += 1;
    else state.freshnessTimeouts += 1;
  } finally {
    state.pollers -= 1;
  }
}

/**
 * Polls the record until it shows the status of `event` (a sampled event is the one that gives
 * the record its final status); ms from `since` to the answer that showed it, or undefined.
 */
async function visibleAfter(event: PlannedEvent, since: number, run: RunContext): Promise<number | undefined> {
  const { options, target } = run;
  const expected = STATUS_OF[event.type].status;
  const path = `/api/v1/delivery-records/${encodeURIComponent(target.deliveryIds[event.delivery]!)}`;
  while (performance.now() - since < options.pollTimeoutMs && !run.signal.aborted) {
    const res = await target.reporting.get(path, run.signal);
    if (res.status === 200 && statusOf(res.body) === expected) return performance.now() - since;
    await sleep(options.pollIntervalMs);
  }
  return undefined;
}

/** The `record.status` of a `GET /api/v1/delivery-records/:id` answer, or undefined. */
function statusOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { record?: { status?: string } }).record?.status;
  } catch {
    return undefined;
  }
}

/**
 * Posts again, like a provider retrying, every event that was posted but never answered 2xx (its
 * fate is unknown: it may or may not have been stored). Up to `tries` times each, `concurrency` at
 * once, no new event after `timeLimitMs`; resolves with the events that got a 2xx now.
 */
export async function redeliver(
  load: LoadResult,
  target: LoadTarget,
  options: { tries: number; concurrency: number; timeLimitMs: number; signal: AbortSignal },
): Promise<Set<PlannedEvent>> {
  const queue = [...load.postedEvents].filter((e) => !load.acceptedEvents.has(e));
  const accepted = new Set<PlannedEvent>();
  const deadline = performance.now() + options.timeLimitMs;
  const more = () => !options.signal.aborted && performance.now() < deadline;
  const worker = async () => {
    for (let event = queue.shift(); event && more(); event = queue.shift()) {
      const body = load.bodies.get(event)!;
      for (let attempt = 1; attempt <= options.tries && more(); attempt++) {
        const status = await postCallback(target, body, options.signal);
        if (status >= 200 && status <= 299) {
          accepted.add(event);
          break;
        }
        await sleep(500 * attempt);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return accepted;
}
