// Examples of each rule of SPEC §2; the properties that hold for every order are in properties.test.ts.
import { DeliveryStatus } from '@dlr/contracts';
import { describe, expect, it } from 'vitest';
import {
  apply,
  countsFromLaneGroups,
  fold,
  INITIAL_RECORD,
  INITIAL_STATE,
  isHumanAction,
  isReasonCode,
  isRecordFlag,
  isStatusKey,
  laneOf,
  normalizeFlags,
  rankEvent,
  rankOf,
  STATUS_KEYS,
  STATUSES,
  statusFromProto,
  statusOfRank,
  viewOf,
  type StatusEvent,
  type StatusKey,
  type StatusRecord,
} from './index.js';
import {
  addToTimeline,
  buildTimeline,
  checkTimelineLimits,
  EMPTY_TIMELINE,
  MAX_DROPPED_IDS,
  TIMELINE_LIMITS,
} from './timeline.js';

const T0 = Date.UTC(2025, 0, 1);

function event(status: StatusKey, attempt: number, extra: Partial<StatusEvent> = {}): StatusEvent {
  return {
    eventId: `${status}:${attempt}`,
    status,
    attempt,
    occurredAt: new Date(T0),
    receivedAt: new Date(T0 + 1_000),
    response: '',
    reasonCode: '',
    reasonText: '',
    ...extra,
  };
}

function applyAll(events: readonly StatusEvent[], start: StatusRecord = INITIAL_RECORD): StatusRecord {
  return events.reduce((record, e) => apply(record, e).record, start);
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
    expect(STATUS_KEYS.filter(isHumanAction)).toEqual(['acknowledged', 'responded', 'opted_out']);
    expect(rankOf('failed')).toBe(60);
  });

  it('maps every known wire status both ways and rejects UNSPECIFIED', () => {
    for (const key of STATUS_KEYS) expect(statusFromProto(STATUSES[key].proto)).toBe(key);
    expect(statusFromProto(DeliveryStatus.DELIVERY_STATUS_UNSPECIFIED)).toBeUndefined();
    expect(statusFromProto(DeliveryStatus.UNRECOGNIZED)).toBeUndefined();
    expect(statusFromProto(999 as DeliveryStatus)).toBeUndefined();
    expect(statusFromProto(DeliveryStatus.DELIVERY_STATUS_OPTED_OUT)).toBe('opted_out');
  });

  it('recognises keys, ranks, reason codes and flags', () => {
    expect(isStatusKey('bounced_temporarily')).toBe(true);
    expect(isStatusKey('toString')).toBe(false);
    expect(isStatusKey(3)).toBe(false);
    expect(statusOfRank(70)).toBe('acknowledged');
    expect(() => statusOfRank(5)).toThrow(/rank 5/);
    for (const code of [
      'provider_rejected',
      'provider_unavailable',
      'send_interrupted',
      'permanent_bounce',
      'temporary_bounce',
      'invalid_address',
      'suppressed',
      'complaint',
    ]) {
      expect(isReasonCode(code), code).toBe(true);
    }
    expect(isReasonCode('hasOwnProperty')).toBe(false);
    expect(isRecordFlag('complaint')).toBe(true);
    expect(isRecordFlag('temporary_bounce')).toBe(false);
    expect(normalizeFlags(['permanent_bounce', 'x', 'complaint', 'permanent_bounce'])).toEqual([
      'complaint',
      'permanent_bounce',
    ]);
  });
});

describe('ranking', () => {
  it('keeps the highest rank within an attempt, whatever the order', () => {
    const sent = event('sent', 1);
    const delivered = event('delivered', 1);
    expect(viewOf(applyAll([sent, delivered])).status).toBe('delivered');
    const late = apply(applyAll([delivered]), sent);
    expect(late.changed).toBe(true); // a new timeline entry…
    expect(late.transition).toBeUndefined(); // …but the status stays
    expect(viewOf(late.record).status).toBe('delivered');
  });

  it('ignores a duplicate entirely', () => {
    const once = applyAll([event('failed', 1, { reasonCode: 'permanent_bounce' })]);
    const again = apply(once, event('failed', 1, { reasonCode: 'permanent_bounce' }));
    expect(again).toEqual({ record: once, changed: false });
    expect(again.record).toBe(once);
  });

  it('keeps the reason code and provider words of the event that set the status', () => {
    const record = applyAll([
      event('sent', 1),
      event('not_sent', 1, { reasonCode: 'provider_rejected', reasonText: '422 address refused' }),
    ]);
    expect(viewOf(record)).toMatchObject({
      status: 'not_sent',
      statusLabel: 'Not Sent',
      reasonCode: 'provider_rejected',
      reasonText: '422 address refused',
    });
  });

  it('lets a human action outrank Failed and keeps the failure as a flag, in either order', () => {
    const failed = event('failed', 1, { reasonCode: 'permanent_bounce', reasonText: '550 no such user' });
    const ack = event('acknowledged', 0, { eventId: 'ack', response: 'I am safe' });
    const complaint = event('failed', 1, { eventId: 'spam', reasonCode: 'complaint' });
    for (const order of [
      [failed, ack, complaint],
      [complaint, ack, failed],
      [ack, failed, complaint],
    ]) {
      const record = applyAll(order);
      expect(viewOf(record)).toEqual({
        status: 'acknowledged',
        statusLabel: 'Acknowledged',
        response: 'I am safe',
        reasonCode: '',
        reasonText: '',
        attempt: 1,
        flags: ['complaint', 'permanent_bounce'],
      });
      expect(record.send.status).toBe('failed');
      expect(record.timeline.entries.map((e) => e.eventId).sort()).toEqual(['ack', 'failed:1', 'spam']);
    }
  });

  it('flags only Failed events for a complaint or a permanent bounce', () => {
    const record = applyAll([
      event('bounced_temporarily', 1, { reasonCode: 'temporary_bounce' }),
      event('not_sent', 1, { eventId: 'x', reasonCode: 'permanent_bounce' }),
      event('failed', 1, { eventId: 'y', reasonCode: 'provider_rejected' }),
    ]);
    expect(record.flags).toEqual([]);
    expect(viewOf(applyAll([event('failed', 1, { reasonCode: 'complaint' })]))).toMatchObject({
      status: 'failed',
      reasonCode: 'complaint',
      flags: ['complaint'],
    });
  });

  it('starts over on a newer attempt, even with a lower rank, and ignores older attempts', () => {
    const failed = applyAll([event('failed', 1, { reasonCode: 'permanent_bounce' })]);
    const resent = apply(failed, event('sent', 2));
    expect(resent.transition).toEqual({ from: 'failed', to: 'sent' });
    expect(viewOf(resent.record)).toMatchObject({ status: 'sent', attempt: 2, flags: ['permanent_bounce'] });
    const stale = apply(resent.record, event('read', 1));
    expect(stale.changed).toBe(true);
    expect(stale.transition).toBeUndefined();
    expect(stale.record.timeline.entries.map((e) => [e.status, e.attempt])).toEqual([
      ['failed', 1],
      ['read', 1],
      ['sent', 2],
    ]);
  });

  it('keeps a human action across a resend, in either order, whatever attempt it names', () => {
    for (const ack of [
      event('acknowledged', 0, { response: 'safe' }),
      event('acknowledged', 1, { response: 'safe' }),
      event('acknowledged', 5, { response: 'safe' }),
    ]) {
      const resend = event('sent', 2);
      for (const order of [
        [ack, resend],
        [resend, ack],
      ]) {
        expect(viewOf(applyAll([event('delivered', 1), ...order]))).toMatchObject({
          status: 'acknowledged',
          response: 'safe',
          attempt: 2,
        });
      }
    }
    expect(laneOf(event('opted_out', 3))).toBe('human');
    expect(laneOf(event('failed', 0))).toBe('human');
    expect(laneOf(event('failed', 1))).toBe('send');
  });

  it('keeps an answer shown after a later opt-out, in either order', () => {
    const answer = event('responded', 0, { eventId: 'r', response: 'safe', occurredAt: new Date(1_000) });
    const optOut = event('opted_out', 0, { eventId: 'o', occurredAt: new Date(2_000) });
    for (const order of [
      [answer, optOut],
      [optOut, answer],
    ]) {
      expect(viewOf(applyAll([event('delivered', 1), ...order]))).toMatchObject({
        status: 'opted_out',
        response: 'safe',
      });
    }
  });

  it('breaks a tie of equal ranks by the later occurrence, not by arrival', () => {
    const first = event('responded', 0, { eventId: 'a', response: 'yes', occurredAt: new Date(1_000) });
    const second = event('responded', 0, { eventId: 'b', response: 'no', occurredAt: new Date(2_000) });
    expect(viewOf(applyAll([first, second])).response).toBe('no');
    expect(viewOf(applyAll([second, first])).response).toBe('no');
  });

  it('shows a suspected bot in the timeline, flagged, and never ranks it', () => {
    const bot = event('read', 1, { eventId: 'bot', suspectedBot: true });
    const botComplaint = event('failed', 1, { eventId: 'bot2', suspectedBot: true, reasonCode: 'complaint' });
    const start = applyAll([event('delivered', 1)]);
    const step = apply(start, bot);
    expect(step.changed).toBe(true);
    expect(step.transition).toBeUndefined();
    const record = apply(step.record, botComplaint).record;
    expect(viewOf(record)).toMatchObject({ status: 'delivered', flags: [] });
    expect(record.timeline.entries.filter((e) => e.suspectedBot).map((e) => e.eventId)).toEqual(['bot', 'bot2']);
    expect(rankEvent(INITIAL_STATE, bot)).toEqual({ state: INITIAL_STATE, changed: false });
    expect(laneOf(bot)).toBe('none');
  });

  it('reports a transition only when the shown status changes', () => {
    const sent = apply(INITIAL_RECORD, event('sent', 1));
    expect(sent.transition).toEqual({ from: 'pending', to: 'sent' });
    const answered = apply(sent.record, event('responded', 0, { eventId: 'r1', response: 'yes' }));
    expect(answered.transition).toEqual({ from: 'sent', to: 'responded' });
    const changedMind = apply(
      answered.record,
      event('responded', 0, { eventId: 'r2', response: 'no', occurredAt: new Date(T0 + 5_000) }),
    );
    expect(changedMind.changed).toBe(true);
    expect(changedMind.transition).toBeUndefined();
    expect(viewOf(changedMind.record).response).toBe('no');
  });

  it('fold equals applying the events one by one', () => {
    const events = [
      event('sent', 1),
      event('failed', 1, { reasonCode: 'complaint' }),
      event('acknowledged', 0, { response: 'ok' }),
      event('sent', 2),
      event('read', 2, { suspectedBot: true }),
    ];
    expect(fold(events)).toEqual(applyAll(events));
    expect(fold([])).toEqual(INITIAL_RECORD);
  });
});

describe('timeline', () => {
  const at = (i: number, extra: Partial<StatusEvent> = {}) =>
    event('read', 1, { eventId: `e${String(i).padStart(3, '0')}`, receivedAt: new Date(T0 + i * 1_000), ...extra });

  it('keeps provider time and received time, in received order', () => {
    const late = event('delivered', 1, {
      eventId: 'late',
      occurredAt: new Date(T0),
      receivedAt: new Date(T0 + 60_000),
      source: 'provider',
      provider: 'simulator',
      providerEventType: 'delivered',
      providerMessageId: 'sim_1',
    });
    const early = event('sent', 1, { eventId: 'early', occurredAt: undefined, receivedAt: new Date(T0 + 1_000) });
    const record = applyAll([late, early]);
    expect(record.timeline.entries).toEqual([
      {
        eventId: 'early',
        status: 'sent',
        attempt: 1,
        occurredAt: undefined,
        receivedAt: new Date(T0 + 1_000),
        response: '',
        reasonCode: '',
        reasonText: '',
        source: '',
        provider: '',
        providerEventType: '',
        providerMessageId: '',
        suspectedBot: false,
      },
      {
        eventId: 'late',
        status: 'delivered',
        attempt: 1,
        occurredAt: new Date(T0),
        receivedAt: new Date(T0 + 60_000),
        response: '',
        reasonCode: '',
        reasonText: '',
        source: 'provider',
        provider: 'simulator',
        providerEventType: 'delivered',
        providerMessageId: 'sim_1',
        suspectedBot: false,
      },
    ]);
  });

  it('keeps the first 10 and the last 40 entries by default and counts the rest', () => {
    expect(TIMELINE_LIMITS).toEqual({ head: 10, tail: 40 });
    const events = Array.from({ length: 120 }, (_, i) => at(i));
    const reversed = [...events].reverse().reduce((t, e) => addToTimeline(t, e), EMPTY_TIMELINE);
    const timeline = buildTimeline(events);
    expect(reversed).toEqual(timeline);
    expect(timeline.entries.map((e) => e.eventId)).toEqual([
      ...events.slice(0, 10).map((e) => e.eventId),
      ...events.slice(80).map((e) => e.eventId),
    ]);
    expect(timeline.dropped).toBe(70);
    expect(timeline.droppedIds).toEqual(events.slice(10, 80).map((e) => e.eventId));
    // A redelivered copy of a dropped event is recognised, not counted again.
    expect(addToTimeline(timeline, events[40]!)).toBe(timeline);
  });

  it('remembers at most 1 000 dropped IDs (the greatest), so a record stays bounded however many events arrive', () => {
    expect(MAX_DROPPED_IDS).toBe(1_000);
    const events = Array.from({ length: 1_600 }, (_, i) => at(i));
    const timeline = events.reduce((t, e) => addToTimeline(t, e), EMPTY_TIMELINE);
    expect(timeline.entries).toHaveLength(50);
    expect(timeline.dropped).toBe(1_550);
    const droppedIds = events
      .slice(10, 1_560)
      .map((e) => e.eventId)
      .sort();
    expect(timeline.droppedIds).toEqual(droppedIds.slice(550));
    // The same record whatever the order.
    expect([...events].reverse().reduce((t, e) => addToTimeline(t, e), EMPTY_TIMELINE)).toEqual(timeline);
    expect(buildTimeline(events)).toEqual(timeline);
    // A copy of a remembered one is still recognised; one forgotten is counted again, the memory stays capped.
    const kept = events.find((e) => e.eventId === droppedIds[999])!;
    const forgotten = events.find((e) => e.eventId === droppedIds[0])!;
    expect(addToTimeline(timeline, kept)).toBe(timeline);
    expect(addToTimeline(timeline, forgotten).dropped).toBe(1_551);
    expect(addToTimeline(timeline, forgotten).droppedIds).toHaveLength(1_000);
  });

  it('still ranks events it drops from the timeline', () => {
    const limits = { head: 1, tail: 1 };
    const events = [at(0), at(1, { status: 'opted_out', attempt: 0 }), at(2)];
    const record = events.reduce((r, e) => apply(r, e, limits).record, INITIAL_RECORD);
    expect(record.timeline.dropped).toBe(1);
    expect(viewOf(record).status).toBe('opted_out');
    expect(record).toEqual(fold(events, limits));
  });

  it('rejects limits that are not non-negative integers', () => {
    expect(() => checkTimelineLimits({ head: -1, tail: 3 })).toThrow(RangeError);
    expect(() => apply(INITIAL_RECORD, at(0), { head: 1, tail: 1.5 })).toThrow(/tail/);
    expect(buildTimeline([at(0), at(1)], { head: 0, tail: 0 })).toMatchObject({ entries: [], dropped: 2 });
  });
});

describe('counts', () => {
  it('folds lane groups into shown statuses', () => {
    expect(
      countsFromLaneGroups([
        { send: 'failed', human: 'acknowledged', count: 2 },
        { send: 'delivered', human: 'pending', count: 3 },
        { send: 'failed', human: 'failed', count: 1 },
      ]),
    ).toMatchObject({ acknowledged: 2, delivered: 3, failed: 1, pending: 0 });
  });
});
