import { describe, expect, it } from 'vitest';
import { consumerConfigs, partitionOf, streamConfigs, streamNames, subjectMatches, subjects } from './topology.js';
import { DeliveryEvent, DeliveryStatus, EventSource } from './index.js';

const EVENT = { deliveryId: 'd_1', status: DeliveryStatus.DELIVERY_STATUS_DELIVERED, reasonCode: '' };

describe('topology', () => {
  it('versions and namespaces every subject', () => {
    const s = subjects('dlr');
    const all = [
      s.recipientsAdded,
      s.sendRequested,
      s.deliveryEvent('provider', EVENT),
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
      s.deliveryEvent('dispatch', EVENT),
      s.deliveryEvent('provider', EVENT),
      s.deliveryEvent('feedback', EVENT),
      s.deadLetter('x'),
      s.rawCallback('ses'),
    ]) {
      const owners = streams.filter((st) => st.subjects.some((p) => subjectMatches(p, subject)));
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
      for (const filter of config.filter_subjects ?? [config.filter_subject!]) {
        const probe = filter.replace('>', 'x').replaceAll('*', 'x');
        expect(
          st!.subjects.some((p) => subjectMatches(p, probe)),
          config.durable_name,
        ).toBe(true);
      }
      expect(config.ack_policy).toBe('explicit');
    }
  });

  it('puts the partition and what the event does to the address in a delivery event subject', () => {
    const s = subjects('dlr');
    const p = partitionOf('d_1');
    expect(s.deliveryEvent('provider', EVENT)).toBe(`dlr.v1.delivery.event.provider.${p}.none`);
    const complaint = { ...EVENT, status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode: 'complaint' };
    expect(s.deliveryEvent('provider', complaint)).toBe(`dlr.v1.delivery.event.provider.${p}.complaint`);
    const optOut = { ...EVENT, status: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT };
    expect(s.deliveryEvent('feedback', optOut)).toBe(`dlr.v1.delivery.event.feedback.${p}.opted_out`);
    // The suppression replicas see suppressing events, nothing else.
    const replica = consumerConfigs('dlr').find((c) => c.config.durable_name === 'dispatch-suppressions-provider')!;
    const sees = (subject: string) => replica.config.filter_subjects!.some((f) => subjectMatches(f, subject));
    expect(sees(s.deliveryEvent('provider', complaint))).toBe(true);
    expect(sees(s.deliveryEvent('provider', EVENT))).toBe(false);
    // The work queue sources every delivery event into the record's partition.
    const work = streamConfigs('dlr').find((st) => st.name === streamNames('dlr').reportingWork)!;
    const [transform] = work.sources![0]!.subject_transforms!;
    expect(subjectMatches(transform!.src!, s.deliveryEvent('provider', EVENT))).toBe(true);
    expect(transform!.dest).toBe('dlr.v1.reporting.work.{{wildcard(2)}}.event');
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
