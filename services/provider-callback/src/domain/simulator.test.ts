import { DeliveryEvent, DeliveryStatus, EventSource } from '@dlr/contracts';
import { describe, expect, it } from 'vitest';
import {
  mapSimulatorType,
  parseSimulatorCallback,
  rawCallbackId,
  simulatorEventId,
  toDeliveryEvent,
} from './simulator.js';

const valid = {
  eventId: 'sev_1',
  messageId: 'sim_1',
  type: 'bounce',
  occurredAt: '2025-03-01T10:00:00.123Z',
  reason: 'mailbox full',
  metadata: { deliveryId: 'd_1', communicationId: 'c_1', attempt: 2 },
};

describe('mapSimulatorType', () => {
  it('maps the three simulator outcomes to statuses and reason codes', () => {
    expect(mapSimulatorType('delivered')).toEqual({ status: DeliveryStatus.DELIVERY_STATUS_DELIVERED, reasonCode: '' });
    expect(mapSimulatorType('bounce')).toEqual({
      status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
      reasonCode: 'temporary_bounce',
    });
    expect(mapSimulatorType('failed')).toEqual({
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'permanent_bounce',
    });
  });

  it('maps nothing else (case matters, no prototype keys)', () => {
    for (const t of ['opened', 'Delivered', '', 'toString', '__proto__']) expect(mapSimulatorType(t)).toBeUndefined();
  });
});

describe('parseSimulatorCallback', () => {
  it('reads a complete callback of a known type', () => {
    const parsed = parseSimulatorCallback(JSON.stringify(valid));
    expect(parsed).toMatchObject({ ok: true, kind: 'known', callback: { eventId: 'sev_1', type: 'bounce' } });
  });

  it('accepts an unknown type with only eventId and type, so it can be stored raw', () => {
    expect(parseSimulatorCallback('{"eventId":"sev_2","type":"opened"}')).toEqual({
      ok: true,
      kind: 'unmapped',
      eventId: 'sev_2',
      type: 'opened',
    });
  });

  it.each([
    ['not JSON', '{"eventId":'],
    ['an array', '[]'],
    ['no eventId', JSON.stringify({ ...valid, eventId: undefined })],
    ['an eventId with spaces', JSON.stringify({ ...valid, eventId: 'a b' })],
    ['no metadata', JSON.stringify({ ...valid, metadata: undefined })],
    ['attempt 0', JSON.stringify({ ...valid, metadata: { ...valid.metadata, attempt: 0 } })],
    ['a non-ISO occurredAt', JSON.stringify({ ...valid, occurredAt: 'yesterday' })],
    ['no messageId', JSON.stringify({ ...valid, messageId: '' })],
  ])('refuses %s with problems to show', (_name, body) => {
    const parsed = parseSimulatorCallback(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.length).toBeGreaterThan(0);
  });
});

describe('toDeliveryEvent', () => {
  it('normalizes a callback into a provider DeliveryEvent', () => {
    const parsed = parseSimulatorCallback(JSON.stringify(valid));
    if (!parsed.ok || parsed.kind !== 'known') throw new Error('expected a known callback');
    const receivedAt = new Date('2025-03-01T10:00:02.000Z');
    const event = toDeliveryEvent(parsed.callback, parsed.mapping, receivedAt);
    expect(event).toMatchObject({
      eventId: 'provider:simulator:sev_1',
      deliveryId: 'd_1',
      communicationId: 'c_1',
      attempt: 2,
      status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
      source: EventSource.EVENT_SOURCE_PROVIDER,
      provider: 'simulator',
      providerEventType: 'bounce',
      reasonCode: 'temporary_bounce',
      reasonText: 'mailbox full',
      occurredAt: new Date('2025-03-01T10:00:00.123Z'),
      receivedAt,
      providerMessageId: 'sim_1',
    });
    // Same input → same bytes (what makes a re-publish a JetStream duplicate).
    const again = toDeliveryEvent(parsed.callback, parsed.mapping, new Date(receivedAt.getTime()));
    expect(Buffer.from(DeliveryEvent.encode(again).finish())).toEqual(
      Buffer.from(DeliveryEvent.encode(event).finish()),
    );
  });

  it('names events and raw documents by the provider event ID', () => {
    expect(simulatorEventId('sev_9')).toBe('provider:simulator:sev_9');
    expect(rawCallbackId('sev_9')).toBe('simulator:sev_9');
  });
});
