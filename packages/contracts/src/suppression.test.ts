import { describe, expect, it } from 'vitest';
import { DeliveryStatus, EventSource } from './gen/dlr/delivery/v1/delivery.pb.js';
import { passedByOverride, suppressionFact, suppressionKey, suppressionReason } from './suppression.js';

describe('suppressionReason', () => {
  it('suppresses on an opt-out, a complaint and a permanent bounce', () => {
    expect(suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, reasonCode: '' })).toBe('opted_out');
    expect(suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, reasonCode: 'unsubscribed' })).toBe(
      'opted_out',
    );
    expect(suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode: 'complaint' })).toBe(
      'complaint',
    );
    expect(suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode: 'permanent_bounce' })).toBe(
      'permanent_bounce',
    );
  });

  it('does not suppress on other failures or other statuses', () => {
    for (const reasonCode of ['provider_rejected', 'invalid_address', 'suppressed', '']) {
      expect(suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode })).toBeUndefined();
    }
    expect(
      suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY, reasonCode: 'temporary_bounce' }),
    ).toBeUndefined();
    expect(
      suppressionReason({ status: DeliveryStatus.DELIVERY_STATUS_DELIVERED, reasonCode: 'permanent_bounce' }),
    ).toBeUndefined();
  });
});

describe('suppressionKey', () => {
  it('is the same for the same normalized address and never contains it', () => {
    expect(suppressionKey('email', ' Ada@Example.org ')).toBe(suppressionKey('email', 'ada@example.org'));
    expect(suppressionKey('sms', '+61 400 000 001')).toBe(suppressionKey('sms', '+61400000001'));
    expect(suppressionKey('email', 'ada@example.org')).not.toBe(suppressionKey('sms', 'ada@example.org'));
    expect(suppressionKey('email', 'ada@example.org')).not.toMatch(/ada/);
  });
});

describe('suppressionFact', () => {
  const event = {
    status: DeliveryStatus.DELIVERY_STATUS_FAILED,
    reasonCode: 'complaint',
    eventId: 'ev_1',
    communicationId: 'c_1',
    source: EventSource.EVENT_SOURCE_PROVIDER,
    occurredAt: new Date('2026-01-01T10:00:00Z'),
    receivedAt: new Date('2026-01-01T10:00:05Z'),
  };
  const now = new Date('2026-01-02T00:00:00Z');

  it('records the reason, the event and when it was received, else occurred, else now', () => {
    expect(suppressionFact(event, now)).toEqual({
      reason: 'complaint',
      eventId: 'ev_1',
      communicationId: 'c_1',
      suppressedAt: event.receivedAt,
      overridable: false,
    });
    expect(suppressionFact({ ...event, receivedAt: undefined }, now)?.suppressedAt).toEqual(event.occurredAt);
    expect(suppressionFact({ ...event, receivedAt: undefined, occurredAt: undefined }, now)?.suppressedAt).toEqual(now);
  });

  it('is undefined for an event that does not suppress', () => {
    expect(suppressionFact({ ...event, status: DeliveryStatus.DELIVERY_STATUS_DELIVERED, reasonCode: '' })).toBe(
      undefined,
    );
  });

  it('is overridable only for an opt-out through our links, not a provider opt-out, complaint or bounce', () => {
    const optOut = { ...event, status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT, reasonCode: '' };
    expect(suppressionFact({ ...optOut, source: EventSource.EVENT_SOURCE_FEEDBACK })?.overridable).toBe(true);
    expect(suppressionFact({ ...optOut, source: EventSource.EVENT_SOURCE_PROVIDER })?.overridable).toBe(false);
    expect(suppressionFact({ ...event, source: EventSource.EVENT_SOURCE_FEEDBACK })?.overridable).toBe(false);
    expect(passedByOverride({ overridable: true })).toBe(true);
    expect(passedByOverride({})).toBe(false);
    expect(passedByOverride(undefined)).toBe(false);
  });
});
