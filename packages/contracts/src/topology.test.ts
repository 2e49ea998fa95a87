import { describe, expect, it } from 'vitest';
import { consumerConfigs, streamConfigs, streamNames, subjects } from './topology.js';
import { DeliveryEvent, DeliveryStatus, EventSource } from './index.js';

/** True when NATS subject `subject` is matched by pattern `pattern` (`*` one token, `>` the rest). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

describe('topology', () => {
  it('versions and namespaces every subject', () => {
    const s = subjects('dlr');
    const all = [
      s.recipientsAdded,
      s.sendRequested,
      s.deliveryEvent('provider'),
      s.deliveryEvents,
      s.deadLetter('dispatch'),
    ];
    expect(all.every((x) => x.startsWith('dlr.v1.'))).toBe(true);
    expect(subjects('staging').sendRequested).toBe('staging.v1.dispatch.send-requested');
    expect(streamNames('my-env').delivery).toBe('MY_ENV_DELIVERY');
  });

  it('stores every published subject in exactly one stream', () => {
    const s = subjects('dlr');
    const streams = streamConfigs('dlr');
    for (const subject of [
      s.recipientsAdded,
      s.sendRequested,
      s.deliveryEvent('dispatch'),
      s.deliveryEvent('provider'),
      s.deliveryEvent('feedback'),
      s.deadLetter('x'),
    ]) {
      const owners = streams.filter((st) => st.subjects.some((p) => matches(p, subject)));
      expect(
        owners.map((o) => o.name),
        subject,
      ).toHaveLength(1);
    }
  });

  it('points every durable consumer at a stream that holds its subjects', () => {
    const streams = new Map(streamConfigs('dlr').map((st) => [st.name, st]));
    for (const { stream, config } of consumerConfigs('dlr')) {
      const st = streams.get(stream);
      expect(st, config.durable_name).toBeDefined();
      const filter = config.filter_subject!;
      const probe = filter.replace('>', 'x').replace('*', 'x');
      expect(
        st!.subjects.some((p) => matches(p, probe)),
        config.durable_name,
      ).toBe(true);
      expect(config.ack_policy).toBe('explicit');
    }
  });

  it('names every durable consumer once', () => {
    const names = consumerConfigs('dlr').map((c) => c.config.durable_name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('refuses a namespace that would break subjects or stream names', () => {
    expect(() => subjects('Bad.NS')).toThrow(/invalid NATS namespace/);
    expect(() => streamNames('')).toThrow(/invalid NATS namespace/);
  });
});

describe('generated codecs', () => {
  it('round-trip a delivery event', () => {
    const event = DeliveryEvent.fromPartial({
      eventId: 'provider:simulator:sev_1',
      deliveryId: 'd_1',
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
      source: EventSource.EVENT_SOURCE_PROVIDER,
      attempt: 1,
      occurredAt: new Date('2026-01-01T00:00:00Z'),
    });
    expect(DeliveryEvent.decode(DeliveryEvent.encode(event).finish())).toEqual(event);
  });
});
