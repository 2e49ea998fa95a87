// The properties of SPEC §2 that must hold for every order of every set of events.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apply,
  countsFromLaneGroups,
  countTransition,
  emptyCounts,
  fold,
  foldState,
  INITIAL_RECORD,
  INITIAL_STATE,
  rankEvent,
  STATUS_KEYS,
  STATUSES,
  TIMELINE_LIMITS,
  viewOf,
  type LaneGroup,
  type RankState,
  type StatusCounts,
  type StatusEvent,
  type StatusRecord,
  type TimelineLimits,
} from './index.js';

/** Runs of the core properties (order independence, apply = fold, counters = recount). */
const CORE_RUNS = 10_000;

const T0 = Date.UTC(2025, 0, 1);

function applyAll(events: readonly StatusEvent[], limits: TimelineLimits): StatusRecord {
  return events.reduce((record, e) => apply(record, e, limits).record, INITIAL_RECORD);
}

// Few distinct times, answers and reasons, so ties, conflicting answers and flags happen often.
const eventArb = fc.record({
  status: fc.constantFrom(...STATUS_KEYS),
  attempt: fc.integer({ min: 0, max: 3 }),
  occurredAt: fc.option(fc.integer({ min: 0, max: 3 }).map((s) => new Date(T0 + s * 1_000))),
  receivedSecond: fc.integer({ min: 0, max: 3 }),
  response: fc.constantFrom('', 'safe', 'need help'),
  reasonCode: fc.constantFrom('', 'permanent_bounce', 'complaint', 'provider_rejected'),
  suspectedBot: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

/** Distinct events of one record (IDs `<prefix>e<i>`). */
const eventsArb = (prefix = '', maxLength = 10) =>
  fc.array(eventArb, { maxLength }).map((list) =>
    list.map((e, i): StatusEvent => ({
      eventId: `${prefix}e${i}`,
      status: e.status,
      attempt: e.attempt,
      occurredAt: e.occurredAt ?? undefined,
      receivedAt: new Date(T0 + 10_000 + e.receivedSecond * 1_000),
      response: e.response,
      reasonCode: e.reasonCode,
      reasonText: e.reasonCode === '' ? '' : `words for ${e.reasonCode}`,
      suspectedBot: e.suspectedBot,
      source: e.attempt === 0 ? 'feedback' : 'provider',
    })),
  );

/** Small caps so that dropping from the timeline happens often; sometimes the default. */
const limitsArb: fc.Arbitrary<TimelineLimits> = fc.oneof(
  fc.record({ head: fc.integer({ min: 0, max: 3 }), tail: fc.integer({ min: 0, max: 3 }) }),
  fc.constant(TIMELINE_LIMITS),
);

/** The items, shuffled, each present one to three times. */
function deliveredArb<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: items.length, maxLength: items.length }),
      fc.func(fc.integer()),
    )
    .map(([copies, order]) =>
      items
        .flatMap((item, i) => Array.from({ length: copies[i] ?? 1 }, (_, c) => ({ item, k: order(i, c) })))
        .sort((a, b) => a.k - b.k)
        .map(({ item }) => item),
    );
}

const runArb = eventsArb().chain((events) =>
  fc.record({ events: fc.constant(events), delivered: deliveredArb(events), limits: limitsArb }),
);

function recount(records: Iterable<RankState>): StatusCounts {
  const counts = emptyCounts();
  for (const r of records) counts[viewOf(r).status] += 1;
  return counts;
}

describe('core properties', () => {
  it('any permutation with duplicates gives the same record', () => {
    fc.assert(
      fc.property(runArb, ({ events, delivered, limits }) => {
        const expected = applyAll(events, limits);
        const actual = applyAll(delivered, limits);
        expect(viewOf(actual)).toEqual(viewOf(expected));
        expect(new Set(actual.timeline.entries)).toEqual(new Set(expected.timeline.entries));
        expect(actual).toEqual(expected);
      }),
      { numRuns: CORE_RUNS },
    );
  });

  it('incremental apply over any order equals the fold of the set', () => {
    fc.assert(
      fc.property(runArb, ({ events, delivered, limits }) => {
        expect(applyAll(delivered, limits)).toEqual(fold(events, limits));
      }),
      { numRuns: CORE_RUNS },
    );
  });

  it('counters kept only from transitions equal a recount, over many records', () => {
    const manyArb = fc.array(eventsArb('', 6), { minLength: 1, maxLength: 8 }).chain((perRecord) =>
      fc.record({
        perRecord: fc.constant(perRecord),
        delivered: deliveredArb(perRecord.flatMap((events, r) => events.map((event) => ({ r, event })))),
      }),
    );
    fc.assert(
      fc.property(manyArb, ({ perRecord, delivered }) => {
        const records = perRecord.map(() => INITIAL_RECORD);
        let counters: StatusCounts = { ...emptyCounts(), pending: records.length };
        for (const { r, event } of delivered) {
          const before = records[r]!;
          const step = apply(before, event);
          const from = viewOf(before).status;
          const to = viewOf(step.record).status;
          // A plain check, not expect(): this runs up to 144 times per run.
          const t = step.transition;
          if (from === to ? t !== undefined : t?.from !== from || t.to !== to) {
            throw new Error(`transition ${JSON.stringify(t)} for ${from} → ${to}`);
          }
          counters = countTransition(counters, step.transition);
          records[r] = step.record;
        }
        expect(counters).toEqual(recount(records));
        expect(records).toEqual(perRecord.map((events) => fold(events)));
      }),
      { numRuns: CORE_RUNS },
    );
  });
});

describe('more properties', () => {
  it('the ranked state alone (what a store mirrors) agrees with its set-based statement', () => {
    fc.assert(
      fc.property(runArb, ({ events, delivered }) => {
        const state = delivered.reduce((s: RankState, e) => rankEvent(s, e).state, INITIAL_STATE);
        expect(state).toEqual(foldState(events));
        const { timeline: _timeline, ...ranked } = fold(events);
        expect(state).toEqual(ranked);
      }),
      { numRuns: 2_000 },
    );
  });

  it('applying an event again changes nothing', () => {
    fc.assert(
      fc.property(runArb, fc.nat(), ({ events, limits }, pick) => {
        fc.pre(events.length > 0);
        const e = events[pick % events.length]!;
        const record = applyAll(events, limits);
        expect(apply(record, e, limits)).toEqual({ record, changed: false });
        expect(rankEvent(record, e).changed).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('the shown rank never goes down within an attempt', () => {
    fc.assert(
      fc.property(eventsArb(), (events) => {
        let record = INITIAL_RECORD;
        for (const e of events) {
          const next = apply(record, e).record;
          if (next.attempt === record.attempt) {
            expect(STATUSES[viewOf(next).status].rank).toBeGreaterThanOrEqual(STATUSES[viewOf(record).status].rank);
          }
          record = next;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('the timeline keeps the first head and last tail entries, and counts every other event once', () => {
    fc.assert(
      fc.property(runArb, ({ events, delivered, limits }) => {
        const { entries, dropped, droppedIds } = applyAll(delivered, limits).timeline;
        expect(entries.length).toBe(Math.min(events.length, limits.head + limits.tail));
        expect(dropped).toBe(events.length - entries.length);
        expect(droppedIds).toHaveLength(dropped);
        expect(new Set([...entries.map((e) => e.eventId), ...droppedIds])).toEqual(
          new Set(events.map((e) => e.eventId)),
        );
        const sorted = [...events].sort(
          (a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.eventId < b.eventId ? -1 : 1),
        );
        const kept =
          sorted.length <= limits.head + limits.tail
            ? sorted
            : [...sorted.slice(0, limits.head), ...sorted.slice(sorted.length - limits.tail)];
        expect(entries.map((e) => e.eventId)).toEqual(kept.map((e) => e.eventId));
      }),
      { numRuns: 2_000 },
    );
  });

  it('counts per status from lane groups equal a recount of many records', () => {
    fc.assert(
      fc.property(fc.array(eventsArb(), { maxLength: 100 }), (perRecord) => {
        const records = perRecord.map((events) => fold(events));
        // What `$group: {_id: {send, human}}` returns.
        const groups = new Map<string, LaneGroup>();
        for (const r of records) {
          const key = `${r.send.status}/${r.human.status}`;
          const g = groups.get(key);
          groups.set(key, { send: r.send.status, human: r.human.status, count: (g?.count ?? 0) + 1 });
        }
        const counts = countsFromLaneGroups(groups.values());
        expect(counts).toEqual(recount(records));
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(records.length);
      }),
      { numRuns: 300 },
    );
  });
});
