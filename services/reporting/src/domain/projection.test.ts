import fc from 'fast-check';
import { fold, viewOf, type StatusKey } from '@dlr/status-engine';
import { describe, expect, it } from 'vitest';
import type { DeliveryEventIn } from './model.js';
import {
  CountDeltas,
  countKeyOf,
  decodeCountKey,
  encodeCountKey,
  moveDayCounts,
  project,
  type ProjectedRecord,
  type StatusChange,
  type WorkItem,
} from './projection.js';

const COMM = 'c_1';
const T0 = Date.parse('2026-11-27T10:00:00Z');

function event(over: Partial<DeliveryEventIn> & { eventId: string; deliveryId: string; status: StatusKey }): WorkItem {
  return {
    kind: 'event',
    event: {
      communicationId: COMM,
      channel: undefined,
      attempt: 1,
      source: 'provider',
      provider: 'simulator',
      providerEventType: '',
      providerMessageId: '',
      reasonCode: '',
      reasonText: '',
      response: '',
      occurredAt: new Date(T0),
      receivedAt: new Date(T0),
      ...over,
    },
  };
}

function recipients(deliveryId: string, channel: 'email' | 'sms'): WorkItem {
  return {
    kind: 'recipients',
    communicationId: COMM,
    delivery: { deliveryId, channel, recipientName: 'R', address: 'r@example.org' },
  };
}

describe('project', () => {
  it('creates a Pending record from recipients and never changes its status with them', () => {
    const r = project('d_1', 3, undefined, [recipients('d_1', 'sms')], new Date(T0));
    expect(r.record).toMatchObject({ id: 'd_1', partition: 3, channel: 'sms', communicationId: COMM, version: 0 });
    expect(viewOf(r.record!.state).status).toBe('pending');
    expect(r.countedBefore).toBeUndefined();
    expect(r.changes).toEqual([]);
    const again = project('d_1', 3, r.record, [recipients('d_1', 'sms')], new Date(T0 + 1));
    expect(again.record).toBeUndefined();
  });

  it('versions each change of status or response and ignores a duplicate', () => {
    const items = [
      event({ eventId: 'e1', deliveryId: 'd_1', status: 'sent' }),
      event({ eventId: 'e2', deliveryId: 'd_1', status: 'delivered' }),
      event({ eventId: 'e2', deliveryId: 'd_1', status: 'delivered' }),
      event({ eventId: 'e3', deliveryId: 'd_1', status: 'responded', attempt: 0, response: 'Safe' }),
      event({
        eventId: 'e4',
        deliveryId: 'd_1',
        status: 'responded',
        attempt: 0,
        response: 'Need help',
        occurredAt: new Date(T0 + 5),
      }),
    ];
    const r = project('d_1', 0, undefined, items, new Date(T0));
    expect(r.changes.map((c) => [c.version, c.oldStatus, c.newStatus, c.response])).toEqual([
      [1, 'pending', 'sent', ''],
      [2, 'sent', 'delivered', ''],
      [3, 'delivered', 'responded', 'Safe'],
      [4, 'responded', 'responded', 'Need help'],
    ]);
    expect(r.record?.outbox).toEqual(r.changes);
    expect(r.record?.state.timeline.entries).toHaveLength(4);
  });

  it('takes the channel from an event until RecipientsAdded says', () => {
    const r = project(
      'd_1',
      0,
      undefined,
      [event({ eventId: 'e1', deliveryId: 'd_1', status: 'sent', channel: 'email' })],
      new Date(T0),
    );
    expect(r.record?.channel).toBe('email');
    expect(r.record?.address).toBe('');
    const completed = project('d_1', 0, r.record, [recipients('d_1', 'email')], new Date(T0));
    expect(completed.record?.address).toBe('r@example.org');
    expect(viewOf(completed.record!.state).status).toBe('sent');
  });
});

describe('removed records', () => {
  const at = (ms: number) => new Date(T0 + ms);
  const removed = (ms: number): WorkItem => ({ kind: 'remove', communicationId: COMM, removedAt: at(ms) });
  const addedAt = (ms: number): WorkItem =>
    ({ ...(recipients('d_r', 'email') as object), occurredAt: at(ms) }) as WorkItem;

  it('leaves the counts on removal, stays out on an older add, comes back on a later one', () => {
    const deltas = new CountDeltas();
    const first = project('d_r', 0, undefined, [addedAt(0)], at(0));
    deltas.move(COMM, first.countedBefore, first.countedAfter);
    const gone = project('d_r', 0, first.record, [removed(10)], at(10));
    expect(gone.record!.removedAt).toEqual(at(10));
    expect(gone.countedAfter).toBeUndefined();
    deltas.move(COMM, gone.countedBefore, gone.countedAfter);
    expect(deltas.increments().get(COMM) ?? {}).toEqual({});
    // A redelivered older batch does not bring it back; a repeat removal changes nothing.
    expect(project('d_r', 0, gone.record, [addedAt(5), removed(10)], at(11)).record).toBeUndefined();
    const back = project('d_r', 0, gone.record, [addedAt(20)], at(20));
    expect(back.record!.removedAt).toBeNull();
    expect(back.countedBefore).toBeUndefined();
    expect(back.countedAfter).toEqual(first.countedAfter);
  });

  it('a removal that comes before the record was seen keeps it out of the counts', () => {
    const tomb = project('d_r', 0, undefined, [removed(10)], at(10));
    expect(tomb.record!.removedAt).toEqual(at(10));
    expect(tomb.countedAfter).toBeUndefined();
    const late = project('d_r', 0, tomb.record, [addedAt(0)], at(11));
    expect(late.record).toBeUndefined();
    expect(late.countedAfter).toBeUndefined();
  });
});

describe('response count keys', () => {
  it('round-trip options with dots, dollars and spaces into safe field names', () => {
    for (const option of ['Safe', 'Need help.', '$where', 'a.b.c', 'Été 100%']) {
      const key = encodeCountKey(option);
      expect(key).not.toMatch(/[.$]/);
      expect(decodeCountKey(key)).toBe(option);
    }
  });
});

const workArb = fc
  .array(
    fc.oneof(
      fc.record({
        kind: fc.constant('event' as const),
        record: fc.integer({ min: 0, max: 5 }),
        id: fc.integer({ min: 0, max: 30 }),
      }),
      fc.record({
        kind: fc.constant('recipients' as const),
        record: fc.integer({ min: 0, max: 5 }),
        channel: fc.constantFrom('email' as const, 'sms' as const),
      }),
    ),
    { maxLength: 60 },
  )
  .map((list) =>
    list.map((w): WorkItem => {
      const deliveryId = `d_${w.record}`;
      if (w.kind === 'recipients') return recipients(deliveryId, w.channel);
      // One event ID always means the same observation (as in production).
      return event({
        eventId: `e${w.record}-${w.id}`,
        deliveryId,
        status: (['sent', 'delivered', 'failed', 'read', 'responded'] as const)[w.id % 5]!,
        attempt: w.id % 3,
        response: w.id % 5 === 4 ? (['Safe', 'Need help'] as const)[w.id % 2]! : '',
        occurredAt: new Date(T0 + w.id),
        receivedAt: new Date(T0 + w.id),
      });
    }),
  );

describe('batches of work (property)', () => {
  it('counts kept from deltas equal a recount, and versions go 1, 2, 3 … per record', () => {
    fc.assert(
      fc.property(workArb, fc.array(fc.integer({ min: 1, max: 10 }), { maxLength: 20 }), (items, cuts) => {
        const records = new Map<string, ProjectedRecord>();
        const deltas = new CountDeltas();
        const changes: StatusChange[] = [];
        let at = 0;
        let cut = 0;
        while (at < items.length) {
          const size = cuts[cut++ % Math.max(cuts.length, 1)] ?? items.length;
          const batch = items.slice(at, at + size);
          at += size;
          const byRecord = new Map<string, WorkItem[]>();
          for (const item of batch) {
            if (item.kind === 'erase') continue;
            if (item.kind === 'remove') continue;
            const id = item.kind === 'event' ? item.event.deliveryId : item.delivery.deliveryId;
            byRecord.set(id, [...(byRecord.get(id) ?? []), item]);
          }
          for (const [id, list] of byRecord) {
            const r = project(id, 0, records.get(id), list, new Date(T0));
            if (r.record === undefined) continue;
            records.set(id, r.record);
            deltas.move(COMM, r.countedBefore, r.countedAfter);
            changes.push(...r.changes);
          }
        }
        // Recount from the final records.
        const recount = new CountDeltas();
        for (const r of records.values()) recount.move(COMM, undefined, countKeyOf(r));
        expect(deltas.increments().get(COMM) ?? {}).toEqual(recount.increments().get(COMM) ?? {});
        // Each record's state equals the engine's fold of its events, whatever the batching.
        for (const [id, r] of records) {
          const events = items.flatMap((i) => (i.kind === 'event' && i.event.deliveryId === id ? [i.event] : []));
          expect(viewOf(r.state)).toEqual(viewOf(fold(events)));
          const versions = changes.filter((c) => c.deliveryId === id).map((c) => c.version);
          expect(versions).toEqual(versions.map((_, i) => i + 1));
          expect(r.version).toBe(versions.length);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('erases a record once: name, address and provider texts replaced, counts and status kept', () => {
    const made = project('d_1', 0, undefined, [recipients('d_1', 'email')], new Date(T0)).record!;
    const bounced = project(
      'd_1',
      0,
      made,
      [event({ eventId: 'e1', deliveryId: 'd_1', status: 'failed', reasonText: '550 r@example.org unknown' })],
      new Date(T0 + 1),
    );
    const erased = project('d_1', 0, bounced.record, [{ kind: 'erase' }], new Date(T0 + 2));
    const r = erased.record!;
    expect(r).toMatchObject({ recipientName: '[erased]', address: '[erased]', erased: true, version: 1 });
    expect(JSON.stringify(r)).not.toContain('r@example.org');
    expect(erased.countedAfter).toEqual(bounced.countedAfter);
    expect(erased.changes).toEqual([]);
    // Twice changes nothing; a redelivered RecipientsAdded does not bring the address back.
    expect(project('d_1', 0, r, [{ kind: 'erase' }, recipients('d_1', 'email')], new Date(T0 + 3)).record).toBe(
      undefined,
    );
    // A later event's words are replaced too, in the record and in the change told.
    const later = project(
      'd_1',
      0,
      r,
      [event({ eventId: 'e2', deliveryId: 'd_1', status: 'delivered', attempt: 2, reasonText: 'to r@example.org' })],
      new Date(T0 + 4),
    );
    expect(JSON.stringify(later.record)).not.toContain('r@example.org');
    expect(JSON.stringify(later.changes)).not.toContain('r@example.org');
  });

  it('skips an erasure of a record it has not seen yet', () => {
    const r = project('d_9', 0, undefined, [{ kind: 'erase' }], new Date(T0));
    expect(r.record).toBeUndefined();
  });
});

describe('the send date and its day bucket', () => {
  it('is the earliest dispatch result; the record counts in that day’s bucket once', () => {
    const now = new Date(T0);
    const added = project('d_9', 0, undefined, [recipients('d_9', 'email')], now);
    expect(added.record?.sentAt).toBeUndefined();
    const sent = project(
      'd_9',
      0,
      added.record,
      [
        event({ eventId: 'p1', deliveryId: 'd_9', status: 'delivered' }),
        event({
          eventId: 'x1',
          deliveryId: 'd_9',
          status: 'sent',
          source: 'dispatch',
          occurredAt: new Date(T0 + 5_000),
        }),
      ],
      now,
    );
    expect(sent.record?.sentAt).toEqual(new Date(T0 + 5_000));
    const deltas = new CountDeltas();
    moveDayCounts(
      deltas,
      COMM,
      { sentAt: undefined, key: sent.countedBefore },
      { sentAt: sent.record?.sentAt, key: sent.countedAfter },
    );
    expect(deltas.increments().get(`${COMM}@2026-11-27`)).toEqual({
      total: 1,
      'status.delivered': 1,
      'channel.email.delivered': 1,
    });
    // An earlier attempt's result seen later moves the record to that day.
    const earlier = project(
      'd_9',
      0,
      sent.record,
      [
        event({
          eventId: 'x0',
          deliveryId: 'd_9',
          status: 'sent',
          source: 'dispatch',
          occurredAt: new Date(T0 - 86_400_000),
        }),
      ],
      now,
    );
    const moved = new CountDeltas();
    moveDayCounts(
      moved,
      COMM,
      { sentAt: sent.record?.sentAt, key: sent.countedAfter },
      { sentAt: earlier.record?.sentAt, key: earlier.countedAfter },
    );
    expect(moved.increments().get(`${COMM}@2026-11-27`)).toMatchObject({ total: -1, 'status.delivered': -1 });
    expect(moved.increments().get(`${COMM}@2026-11-26`)).toMatchObject({ total: 1, 'status.delivered': 1 });
  });
});
