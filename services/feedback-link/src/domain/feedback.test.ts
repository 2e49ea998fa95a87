import { DeliveryEvent, DeliveryStatus, EventSource } from '@dlr/contracts';
import { describe, expect, it } from 'vitest';
import {
  acknowledge,
  ackId,
  classifyUserAgent,
  refusalStatus,
  toAckEvent,
  type AckRecord,
  type FeedbackStore,
} from './feedback.js';

const recordedAt = new Date('2025-03-01T10:05:00.000Z');

describe('toAckEvent', () => {
  it('is an Acknowledged feedback event, not tied to an attempt, timed at the recording', () => {
    const record: AckRecord = {
      _id: 'd_1:ack',
      deliveryId: 'd_1',
      communicationId: 'c_1',
      action: 'ack',
      recordedAt,
    };
    expect(toAckEvent(record)).toEqual(
      DeliveryEvent.fromPartial({
        eventId: 'feedback:d_1:ack',
        deliveryId: 'd_1',
        communicationId: 'c_1',
        attempt: 0,
        status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
        source: EventSource.EVENT_SOURCE_FEEDBACK,
        occurredAt: recordedAt,
        receivedAt: recordedAt,
        response: 'Acknowledged',
      }),
    );
  });
});

describe('refusalStatus', () => {
  it('is 400 malformed, 403 not acceptable, 410 expired', () => {
    expect(refusalStatus('malformed')).toBe(400);
    expect(refusalStatus('bad_signature')).toBe(403);
    expect(refusalStatus('unknown_key')).toBe(403);
    expect(refusalStatus('wrong_action')).toBe(403);
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
});

/** An in-memory store: enough to check the order of operations, not a stand-in for MongoDB. */
function memoryStore(): FeedbackStore & { docs: Map<string, AckRecord> } {
  const docs = new Map<string, AckRecord>();
  return {
    docs,
    findAck: async (deliveryId) => docs.get(ackId(deliveryId)) ?? null,
    recordOnce: async (record) => {
      const existing = docs.get(record._id);
      if (existing) return { stored: existing, inserted: false };
      docs.set(record._id, record);
      return { stored: record, inserted: true };
    },
    markPublished: async (id, at) => {
      const existing = docs.get(id);
      if (existing) docs.set(id, { ...existing, publishedAt: at });
    },
  };
}

describe('acknowledge', () => {
  const link = { deliveryId: 'd_1', communicationId: 'c_1' };

  it('records once, keeps the first time, and publishes until one publish succeeded', async () => {
    const store = memoryStore();
    const published: DeliveryEvent[] = [];
    let fail = true;
    const publisher = {
      publish: async (e: DeliveryEvent) => {
        if (fail) throw new Error('no stream');
        published.push(e);
      },
    };
    await expect(acknowledge({ store, publisher }, link, recordedAt, 'mobile')).rejects.toThrow('no stream');
    expect(store.docs.get('d_1:ack')).toMatchObject({ recordedAt, userAgentClass: 'mobile' });

    fail = false;
    const later = new Date(recordedAt.getTime() + 60_000);
    expect(await acknowledge({ store, publisher }, link, later, 'desktop')).toEqual({ recordedAt, firstTime: false });
    expect(published).toHaveLength(1);
    expect(published[0]!.receivedAt).toEqual(recordedAt);

    await acknowledge({ store, publisher }, link, new Date(later.getTime() + 1), 'desktop');
    expect(published).toHaveLength(1);
  });
});
