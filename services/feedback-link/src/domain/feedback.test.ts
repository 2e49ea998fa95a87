import { DeliveryEvent, DeliveryStatus, EventSource } from '@dlr/contracts';
import { describe, expect, it } from 'vitest';
import {
  answerEvent,
  answerFromEvent,
  classifyUserAgent,
  DEFAULT_SCANNER_USER_AGENTS,
  recordOnce,
  refusalStatus,
  responseId,
  suspectedBot,
  type AnswerLog,
  type AnswerRecord,
  type FeedbackStore,
} from './feedback.js';

const recordedAt = new Date('2025-03-01T10:05:00.000Z');

describe('answerEvent', () => {
  it('is a feedback event, not tied to an attempt, timed at the recording, carrying the response', () => {
    const record: AnswerRecord = {
      _id: responseId('d_1', recordedAt, 1),
      deliveryId: 'd_1',
      communicationId: 'c_1',
      action: 'respond',
      response: 'Need help',
      optionIndex: 1,
      recordedAt,
      via: 'page',
    };
    expect(answerEvent(record)).toEqual(
      DeliveryEvent.fromPartial({
        eventId: `feedback:d_1:respond:${recordedAt.getTime().toString(36)}:1`,
        deliveryId: 'd_1',
        communicationId: 'c_1',
        attempt: 0,
        status: DeliveryStatus.DELIVERY_STATUS_RESPONDED,
        source: EventSource.EVENT_SOURCE_FEEDBACK,
        providerEventType: 'page',
        occurredAt: recordedAt,
        receivedAt: recordedAt,
        response: 'Need help',
      }),
    );
    expect(answerEvent({ ...record, _id: 'd_1:ack', action: 'ack' })).toMatchObject({
      eventId: 'feedback:d_1:ack',
      status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
      response: 'Acknowledged',
    });
    expect(answerEvent({ ...record, _id: 'd_1:optout', action: 'optout', via: 'one-click' })).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT,
      providerEventType: 'one-click',
    });
    expect(answerEvent({ ...record, _id: 'd_1:read', action: 'read', via: 'pixel' })).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_READ,
      response: '',
    });
  });
});

describe('refusalStatus', () => {
  it('is 400 malformed, 403 not acceptable, 404 unknown, 410 expired', () => {
    expect(refusalStatus('malformed')).toBe(400);
    expect(refusalStatus('bad_signature')).toBe(403);
    expect(refusalStatus('unknown_key')).toBe(403);
    expect(refusalStatus('wrong_action')).toBe(403);
    expect(refusalStatus('unknown')).toBe(404);
    expect(refusalStatus('expired')).toBe(410);
  });
});

describe('classifyUserAgent', () => {
  it.each([
    [undefined, 'unknown'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148', 'mobile'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36', 'mobile'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36', 'desktop'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'bot'],
    ['curl/8.5.0', 'bot'],
    ['Mozilla/5.0 (Windows NT 10.0) HeadlessChrome/120', 'bot'],
    ['something else', 'unknown'],
  ] as const)('%s → %s', (ua, expected) => {
    expect(classifyUserAgent(ua)).toBe(expected);
  });

  it('uses the configured scanner list', () => {
    expect(classifyUserAgent('Acme LinkGuard 2.0', ['linkguard'])).toBe('bot');
    expect(classifyUserAgent('Acme LinkGuard 2.0', DEFAULT_SCANNER_USER_AGENTS)).toBe('unknown');
  });
});

describe('suspectedBot', () => {
  const policy = { scannerUserAgents: [], windowSeconds: 5 };
  const claims = { issuedAt: Math.floor(recordedAt.getTime() / 1000) };
  const later = new Date(recordedAt.getTime() + 60_000);
  it('flags HEAD, scanners and hits within the window; a person later is not flagged', () => {
    expect(suspectedBot(policy, { method: 'HEAD', userAgentClass: 'mobile', claims, now: later })).toBe('head');
    expect(suspectedBot(policy, { method: 'GET', userAgentClass: 'bot', claims, now: later })).toBe('scanner');
    expect(
      suspectedBot(policy, {
        method: 'POST',
        userAgentClass: 'mobile',
        claims,
        now: new Date(recordedAt.getTime() + 3_000),
      }),
    ).toBe('too_soon');
    expect(suspectedBot(policy, { method: 'POST', userAgentClass: 'mobile', claims, now: later })).toBeUndefined();
  });
});

/** An in-memory store: enough to check the order of operations, not a stand-in for MongoDB. */
function memoryStore(): FeedbackStore & { docs: Map<string, AnswerRecord> } {
  const docs = new Map<string, AnswerRecord>();
  return {
    docs,
    findOnce: async (deliveryId, action) => docs.get(`${deliveryId}:${action}`) ?? null,
    recordOnce: async (record) => {
      const existing = docs.get(record._id);
      if (existing) return { stored: existing, inserted: false };
      docs.set(record._id, record);
      return { stored: record, inserted: true };
    },
    recordResponse: async (record) => {
      docs.set(record._id, record);
    },
    latestResponse: async () => null,
    recordSuspectedBot: async () => undefined,
  };
}

/** An in-memory log that deduplicates by event ID as JetStream does (keeps the first). */
function memoryLog(): AnswerLog & { events: DeliveryEvent[]; fail: boolean } {
  const log = {
    events: [] as DeliveryEvent[],
    fail: false,
    commit: async (event: DeliveryEvent) => {
      if (log.fail) throw new Error('no stream');
      const first = log.events.find((e) => e.eventId === event.eventId);
      if (first) return { event: first, duplicate: true };
      log.events.push(event);
      return { event, duplicate: false };
    },
  };
  return log;
}

describe('recordOnce', () => {
  const link = { deliveryId: 'd_1', communicationId: 'c_1' };

  it('commits before it confirms: a failed commit records nothing; a repeat keeps the first time', async () => {
    const store = memoryStore();
    const log = memoryLog();
    log.fail = true;
    await expect(recordOnce({ store, log }, link, 'ack', recordedAt, 'page', 'mobile')).rejects.toThrow('no stream');
    expect(log.events).toHaveLength(0);

    log.fail = false;
    const first = await recordOnce({ store, log }, link, 'ack', recordedAt, 'page', 'mobile');
    expect(first).toMatchObject({ firstTime: true, record: { recordedAt, userAgentClass: 'mobile' } });
    // Not in the store yet (its consumer lags): the stream's first answer is what the page shows.
    const later = new Date(recordedAt.getTime() + 60_000);
    const again = await recordOnce({ store, log }, link, 'ack', later, 'page', 'desktop');
    expect(again.firstTime).toBe(false);
    expect(again.record.recordedAt).toEqual(recordedAt);
    expect(log.events).toHaveLength(1);
    expect(log.events[0]!.receivedAt).toEqual(recordedAt);
  });

  it('answers from the store when it holds the answer, and from the stream when the store is down', async () => {
    const store = memoryStore();
    const log = memoryLog();
    const stored = answerFromEvent(answerEvent({ ...baseRecord('d_1:ack'), action: 'ack' }), 'mobile')!;
    store.docs.set(stored._id, stored);
    const known = await recordOnce({ store, log }, link, 'ack', new Date(), 'page', 'desktop');
    expect(known).toEqual({ record: stored, firstTime: false });
    expect(log.events).toHaveLength(0);

    const down: FeedbackStore = { ...store, findOnce: () => new Promise(() => undefined) };
    const slow = await recordOnce({ store: down, log, lookupMs: 20 }, link, 'optout', recordedAt, 'page', 'mobile');
    expect(slow.firstTime).toBe(true);
    expect(log.events.map((e) => e.eventId)).toEqual(['feedback:d_1:optout']);
  });
});

describe('answerFromEvent', () => {
  it('reads back every answer its event was built from', () => {
    const answers: AnswerRecord[] = [
      { ...baseRecord('d_1:ack'), action: 'ack' },
      { ...baseRecord('d_1:read'), action: 'read', via: 'pixel' },
      { ...baseRecord('d_1:optout'), action: 'optout', via: 'one-click', userAgentClass: 'desktop' },
      { ...baseRecord(responseId('d_1', recordedAt, 1)), action: 'respond', response: 'Need help', optionIndex: 1 },
    ];
    for (const a of answers) expect(answerFromEvent(answerEvent(a), a.userAgentClass)).toEqual(a);
    expect(answerFromEvent(answerEvent({ ...baseRecord('d_2:ack'), action: 'ack' }), 'spaceship')).not.toHaveProperty(
      'userAgentClass',
    );
  });
});

function baseRecord(id: string): AnswerRecord {
  return { _id: id, deliveryId: id.split(':')[0]!, communicationId: 'c_1', action: 'ack', recordedAt, via: 'page' };
}
