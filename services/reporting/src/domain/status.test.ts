import { DeliveryStatus } from '@dlr/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyEvent,
  countsFromLaneGroups,
  emptyCounts,
  INITIAL_STATE,
  isStatusKey,
  observationOf,
  outranks,
  PENDING,
  STATUS_KEYS,
  STATUSES,
  statusFromProto,
  statusOfRank,
  viewOf,
  type LaneGroup,
  type Observation,
  type RankedEvent,
  type RecordState,
  type StatusKey,
} from './status.js';

function event(status: StatusKey, attempt: number, extra: Partial<RankedEvent> = {}): RankedEvent {
  return {
    eventId: extra.eventId ?? `${status}:${attempt}`,
    status,
    attempt,
    occurredAt: extra.occurredAt ?? new Date('2025-01-01T00:00:00Z'),
    response: extra.response ?? '',
    reasonCode: extra.reasonCode ?? '',
    reasonText: extra.reasonText ?? '',
  };
}

function fold(events: readonly RankedEvent[], start: RecordState = INITIAL_STATE): RecordState {
  return events.reduce((record, e) => applyEvent(record, e).record, start);
}

/** The rule stated as a function of the SET of events (what SPEC §2 means), to check the fold against. */
function oracle(events: readonly RankedEvent[]): RecordState {
  const best = (candidates: readonly RankedEvent[]): Observation =>
    candidates.map(observationOf).reduce((a, b) => (outranks(b, a) ? b : a), PENDING);
  const attempt = Math.max(0, ...events.map((e) => e.attempt));
  return {
    attempt,
    send: attempt === 0 ? PENDING : best(events.filter((e) => e.attempt === attempt)),
    human: best(events.filter((e) => e.attempt === 0)),
  };
}

describe('status table', () => {
  it('has the ranks, labels and keys of SPEC §2', () => {
    expect(STATUS_KEYS.map((k) => [k, STATUSES[k].rank, STATUSES[k].label])).toEqual([
      ['pending', 0, 'Pending'],
      ['sent', 10, 'Sent'],
      ['not_sent', 20, 'Not Sent'],
      ['bounced_temporarily', 30, 'Bounced Temporarily'],
      ['delivered', 40, 'Delivered'],
      ['read', 50, 'Read'],
      ['failed', 60, 'Failed'],
      ['acknowledged', 70, 'Acknowledged'],
      ['responded', 80, 'Responded'],
      ['opted_out', 90, 'Opted-out'],
    ]);
  });

  it('maps every known wire status both ways and rejects UNSPECIFIED', () => {
    for (const key of STATUS_KEYS) expect(statusFromProto(STATUSES[key].proto)).toBe(key);
    expect(statusFromProto(DeliveryStatus.DELIVERY_STATUS_UNSPECIFIED)).toBeUndefined();
    expect(statusFromProto(DeliveryStatus.UNRECOGNIZED)).toBeUndefined();
    expect(statusFromProto(999 as DeliveryStatus)).toBeUndefined();
    expect(statusFromProto(DeliveryStatus.DELIVERY_STATUS_OPTED_OUT)).toBe('opted_out');
  });

  it('recognises keys and ranks', () => {
    expect(isStatusKey('bounced_temporarily')).toBe(true);
    expect(isStatusKey('toString')).toBe(false);
    expect(isStatusKey(3)).toBe(false);
    expect(statusOfRank(70)).toBe('acknowledged');
    expect(() => statusOfRank(5)).toThrow(/rank 5/);
  });
});

describe('applyEvent', () => {
  it('keeps the highest rank within an attempt, whatever the order', () => {
    const sent = event('sent', 1);
    const delivered = event('delivered', 1);
    expect(viewOf(fold([sent, delivered])).status).toBe('delivered');
    const late = applyEvent(fold([delivered]), sent);
    expect(late.changed).toBe(false);
    expect(viewOf(late.record).status).toBe('delivered');
  });

  it('ignores a duplicate', () => {
    const once = fold([event('failed', 1, { reasonCode: 'permanent_bounce' })]);
    const again = applyEvent(once, event('failed', 1, { reasonCode: 'permanent_bounce' }));
    expect(again.changed).toBe(false);
    expect(again.record).toBe(once);
  });

  it('lets a human action (attempt 0) outrank Failed and keeps the reason of what is shown', () => {
    const record = fold([event('failed', 1, { reasonCode: 'permanent_bounce' }), event('acknowledged', 0)]);
    expect(viewOf(record)).toMatchObject({ status: 'acknowledged', statusLabel: 'Acknowledged', reasonCode: '' });
    // The failure is still known (a flag for later), in the send lane.
    expect(record.send.status).toBe('failed');
  });

  it('starts over on a newer attempt, even with a lower rank, and ignores older attempts', () => {
    const failed = fold([event('failed', 1)]);
    const resent = applyEvent(failed, event('sent', 2));
    expect(resent.changed).toBe(true);
    expect(viewOf(resent.record)).toMatchObject({ status: 'sent', attempt: 2 });
    const stale = applyEvent(resent.record, event('opted_out', 1));
    expect(stale.changed).toBe(false);
  });

  it('keeps a human action across a resend, in either order', () => {
    const ack = event('acknowledged', 0, { response: 'safe' });
    const resend = event('sent', 2);
    for (const order of [
      [ack, resend],
      [resend, ack],
    ]) {
      expect(viewOf(fold([event('delivered', 1), ...order]))).toMatchObject({
        status: 'acknowledged',
        response: 'safe',
        attempt: 2,
      });
    }
  });

  it('breaks a tie of equal ranks by the later occurrence, not by arrival', () => {
    const first = event('responded', 0, { eventId: 'a', response: 'yes', occurredAt: new Date(1_000) });
    const second = event('responded', 0, { eventId: 'b', response: 'no', occurredAt: new Date(2_000) });
    expect(viewOf(fold([first, second])).response).toBe('no');
    expect(viewOf(fold([second, first])).response).toBe('no');
  });
});

// ---- property tests ----

const statusArb = fc.constantFrom(...STATUS_KEYS);
const eventsArb = fc
  .array(
    fc.record({
      status: statusArb,
      attempt: fc.integer({ min: 0, max: 3 }),
      // Few distinct times and answers, so ties and conflicting answers happen often.
      occurredAt: fc.option(fc.integer({ min: 0, max: 3 }).map((s) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)))),
      response: fc.constantFrom('', 'safe', 'need help'),
      reasonCode: fc.constantFrom('', 'permanent_bounce', 'provider_rejected'),
    }),
    { maxLength: 12 },
  )
  .map((list) =>
    list.map((e, i): RankedEvent => ({
      eventId: `ev${i}`,
      status: e.status,
      attempt: e.attempt,
      occurredAt: e.occurredAt ?? undefined,
      response: e.response,
      reasonCode: e.reasonCode,
      reasonText: e.reasonCode === '' ? '' : `words for ${e.reasonCode}`,
    })),
  );

/** The events, shuffled, each present one to three times. */
const deliveredArb = eventsArb.chain((events) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: events.length, maxLength: events.length }),
      fc.func(fc.integer()),
    )
    .map(([copies, order]) => ({
      events,
      delivered: events
        .flatMap((e, i) => Array.from({ length: copies[i] ?? 1 }, (_, c) => ({ e, k: order(i, c) })))
        .sort((a, b) => a.k - b.k)
        .map(({ e }) => e),
    })),
);

describe('properties', () => {
  it('any permutation with duplicates gives the same status, response, reason and attempt', () => {
    fc.assert(
      fc.property(deliveredArb, ({ events, delivered }) => {
        expect(viewOf(fold(delivered))).toEqual(viewOf(fold(events)));
        expect(fold(delivered)).toEqual(fold(events));
      }),
      { numRuns: 2_000 },
    );
  });

  it('the fold equals the rule stated on the set of events', () => {
    fc.assert(
      fc.property(deliveredArb, ({ delivered }) => {
        expect(fold(delivered)).toEqual(oracle(delivered));
      }),
      { numRuns: 2_000 },
    );
  });

  it('applying an event twice changes nothing the second time', () => {
    fc.assert(
      fc.property(eventsArb, fc.nat(), (events, pick) => {
        fc.pre(events.length > 0);
        const e = events[pick % events.length]!;
        const once = applyEvent(fold(events), e);
        expect(once.changed).toBe(false);
        expect(applyEvent(applyEvent(INITIAL_STATE, e).record, e).changed).toBe(false);
      }),
    );
  });

  it('the shown rank never goes down within an attempt', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        let record = INITIAL_STATE;
        for (const e of events) {
          const next = applyEvent(record, e).record;
          if (next.attempt === record.attempt) {
            expect(STATUSES[viewOf(next).status].rank).toBeGreaterThanOrEqual(STATUSES[viewOf(record).status].rank);
          }
          record = next;
        }
      }),
    );
  });

  it('counts per status from lane groups equal a recount of many records', () => {
    fc.assert(
      fc.property(fc.array(eventsArb, { maxLength: 200 }), (perRecord) => {
        const records = perRecord.map((events) => fold(events));
        const recount = emptyCounts();
        for (const r of records) recount[viewOf(r).status] += 1;
        // What `$group: {_id: {send, human}}` returns.
        const groups = new Map<string, LaneGroup>();
        for (const r of records) {
          const key = `${r.send.status}/${r.human.status}`;
          const g = groups.get(key);
          groups.set(key, { send: r.send.status, human: r.human.status, count: (g?.count ?? 0) + 1 });
        }
        const counts = countsFromLaneGroups(groups.values());
        expect(counts).toEqual(recount);
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(records.length);
      }),
      { numRuns: 300 },
    );
  });
});
