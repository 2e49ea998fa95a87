// The load plan of the callback benchmark, built before anything is sent: which simulator events
// are posted, in which order and when, which posts are duplicates, and the final status every
// delivery record must end with (the ground truth). Pure: no I/O, no clock; randomness comes from
// the seeded generator passed in, so a seed reproduces a plan.

/** Event types the simulator sends. */
export type CallbackType = 'delivered' | 'bounce' | 'failed';

/** The report status keys this benchmark can produce (packages/status-engine). */
export type BenchStatus = 'pending' | 'bounced_temporarily' | 'delivered' | 'failed';

const TYPES: readonly CallbackType[] = ['delivered', 'bounce', 'failed'];

/** A sampled post has no same-rank post of its delivery within this many seconds after it. */
const SAMPLE_GUARD_SECONDS = 2;

/** Status a callback type maps to, and that status's rank (reporting's rank rule). */
export const STATUS_OF: Readonly<Record<CallbackType, { status: BenchStatus; rank: number }>> = {
  bounce: { status: 'bounced_temporarily', rank: 30 },
  delivered: { status: 'delivered', rank: 40 },
  failed: { status: 'failed', rank: 60 },
};

/** One distinct provider event (one provider event ID). */
export interface PlannedEvent {
  /** Provider event ID, unique per distinct event. */
  readonly eventId: string;
  /** Index of the delivery record (into the delivery IDs returned by AddRecipients). */
  readonly delivery: number;
  readonly type: CallbackType;
}

/** One HTTP post of the schedule. */
export interface PlannedPost {
  /** When to fire it, in ms after the start of the run. */
  readonly atMs: number;
  readonly event: PlannedEvent;
  /** True for the repeat of an event posted earlier (same event ID and body). */
  readonly duplicate: boolean;
  /** True when the freshness lag is measured after this post's 2xx. */
  readonly sampled: boolean;
}

/** What a plan is built from. */
export interface PlanOptions {
  /** Number of delivery records that exist (all Pending before the run). */
  readonly deliveries: number;
  /** Target posts per second. */
  readonly rate: number;
  /** Length of the schedule in seconds. */
  readonly seconds: number;
  /** Fraction of distinct events posted a second time, later (e.g. 0.075). */
  readonly duplicateRate: number;
  /** Measure the freshness of every n-th eligible delivery. */
  readonly sampleEvery: number;
  /** Prefix of the provider event IDs (unique per run). */
  readonly tag: string;
  /** Uniform random numbers in [0, 1). */
  readonly random: () => number;
}

/** The schedule and the ground truth. */
export interface Plan {
  readonly posts: readonly PlannedPost[];
  readonly distinctEvents: number;
  readonly duplicates: number;
  /** The status each delivery must end with, by delivery index. */
  readonly finalStatus: readonly BenchStatus[];
  /** How many records must end in each status. */
  readonly expectedCounts: Readonly<Record<BenchStatus, number>>;
  /** Deliveries that received at least one event. */
  readonly deliveriesTouched: number;
}

/**
 * Builds the plan: `rate × seconds` posts, one every `1000 / rate` ms. Deliveries are visited in
 * rounds; each visit gives the delivery 1–3 distinct event types in random order, so a delivery
 * can get several events of one type over rounds (each with its own event ID) when there are more
 * posts than a single round provides. All events are then shuffled (out of order on purpose) and
 * `duplicateRate` of them are repeated at a random later position.
 */
export function buildPlan(options: PlanOptions): Plan {
  const { random } = options;
  const totalPosts = Math.max(1, Math.round(options.rate * options.seconds));
  const distinctTarget = Math.max(1, Math.round(totalPosts / (1 + options.duplicateRate)));
  const events = shuffle(planEvents(options, distinctTarget), random);
  const order = withDuplicates(events, totalPosts - distinctTarget, random);
  const interval = 1_000 / options.rate;
  const sampled = sampledPosts(order, options.sampleEvery, Math.ceil(options.rate * SAMPLE_GUARD_SECONDS));
  const posts = order.map((p, i) => ({ ...p, atMs: i * interval, sampled: sampled.has(i) }));
  const finalStatus = finalStatuses(options.deliveries, events);
  return {
    posts,
    distinctEvents: events.length,
    duplicates: order.length - events.length,
    finalStatus,
    expectedCounts: countStatuses(finalStatus),
    deliveriesTouched: new Set(events.map((e) => e.delivery)).size,
  };
}

function planEvents(options: PlanOptions, count: number): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  for (let round = 0; events.length < count; round++) {
    for (let delivery = 0; delivery < options.deliveries && events.length < count; delivery++) {
      const howMany = 1 + Math.floor(options.random() * TYPES.length);
      for (const type of shuffle([...TYPES], options.random).slice(0, howMany)) {
        if (events.length === count) break;
        events.push({ eventId: `${options.tag}-${events.length}`, delivery, type });
      }
    }
  }
  return events;
}

/** The shuffled events with `count` of them repeated at a random position after the original. */
function withDuplicates(
  events: readonly PlannedEvent[],
  count: number,
  random: () => number,
): { event: PlannedEvent; duplicate: boolean }[] {
  const repeated = new Set(shuffle([...events.keys()], random).slice(0, count));
  const keyed = events.map((event, i) => ({ key: i, event, duplicate: false }));
  for (const i of repeated) {
    const event = events[i]!;
    keyed.push({ key: i + 0.5 + random() * (events.length - i), event, duplicate: true });
  }
  return keyed.sort((a, b) => a.key - b.key).map(({ event, duplicate }) => ({ event, duplicate }));
}

/**
 * Indexes of the posts after whose 2xx the freshness lag is measured: for every `every`-th
 * delivery (in post order), the first post with the delivery's final rank. No earlier post of the
 * delivery has that rank and no later one a higher rank, so the record shows its final status
 * exactly when that post has gone through the system. A delivery whose next post of the same rank
 * follows within `guard` posts is skipped (that one could be the post that makes it visible).
 */
function sampledPosts(
  order: readonly { event: PlannedEvent; duplicate: boolean }[],
  every: number,
  guard: number,
): Set<number> {
  const maxRank = new Map<number, number>();
  for (const { event } of order) {
    maxRank.set(event.delivery, Math.max(maxRank.get(event.delivery) ?? 0, STATUS_OF[event.type].rank));
  }
  const first = new Map<number, number>();
  const second = new Map<number, number>();
  order.forEach(({ event }, i) => {
    if (STATUS_OF[event.type].rank !== maxRank.get(event.delivery)) return;
    if (!first.has(event.delivery)) first.set(event.delivery, i);
    else if (!second.has(event.delivery)) second.set(event.delivery, i);
  });
  const decisive = [...first.entries()]
    .filter(([delivery, i]) => (second.get(delivery) ?? Infinity) - i > guard)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
  return new Set(decisive.filter((_, n) => n % Math.max(1, every) === 0));
}

/** The status each delivery ends with after `events` (highest rank wins; none: Pending). */
export function finalStatuses(deliveries: number, events: Iterable<PlannedEvent>): BenchStatus[] {
  const best = new Array<CallbackType | undefined>(deliveries).fill(undefined);
  for (const e of events) {
    const current = best[e.delivery];
    if (current === undefined || STATUS_OF[e.type].rank > STATUS_OF[current].rank) best[e.delivery] = e.type;
  }
  return best.map((t) => (t === undefined ? 'pending' : STATUS_OF[t].status));
}

/**
 * What one delivery may show once every accepted event is applied: `status` from the accepted
 * events alone, and every status that events of unknown fate (posted, never answered 2xx) could
 * raise it to.
 */
export interface Expectation {
  readonly status: BenchStatus;
  readonly possible: ReadonlySet<BenchStatus>;
}

/** The {@link Expectation} of every delivery, by delivery index. */
export function expectations(
  deliveries: number,
  accepted: Iterable<PlannedEvent>,
  uncertain: Iterable<PlannedEvent>,
): Expectation[] {
  const base = finalStatuses(deliveries, accepted);
  const possible = base.map((s) => new Set<BenchStatus>([s]));
  for (const e of uncertain) {
    const { status, rank } = STATUS_OF[e.type];
    if (rank > rankOf(base[e.delivery]!)) possible[e.delivery]!.add(status);
  }
  return base.map((status, i) => ({ status, possible: possible[i]! }));
}

function rankOf(status: BenchStatus): number {
  return Object.values(STATUS_OF).find((s) => s.status === status)?.rank ?? 0;
}

/** How many deliveries end in each status. */
export function countStatuses(statuses: readonly BenchStatus[]): Record<BenchStatus, number> {
  const counts: Record<BenchStatus, number> = { pending: 0, bounced_temporarily: 0, delivered: 0, failed: 0 };
  for (const s of statuses) counts[s] += 1;
  return counts;
}

/** Fisher–Yates, in place; returns the array. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same plan. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
