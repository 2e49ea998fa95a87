// The public status-change subject, subscribed to exactly as docs/events.md says (with the example
// it points to): every change of a run arrives, in order per record, and ends at what the report shows.
import { DeliveryStatus, deliveryStatusToJSON, type StatusChanged } from '@dlr/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchStatusChanges } from '../examples/status-changes.js';
import { eventually } from '@dlr/testing';
import {
  getJson,
  infra,
  publishEvent,
  publishRecipients,
  rand,
  settled,
  startReporting,
  type DetailJson,
  type Harness,
} from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startReporting();
});

afterAll(async () => {
  await h?.stop();
});

const KEY: Record<string, string> = {
  DELIVERY_STATUS_PENDING: 'pending',
  DELIVERY_STATUS_SENT: 'sent',
  DELIVERY_STATUS_DELIVERED: 'delivered',
  DELIVERY_STATUS_FAILED: 'failed',
  DELIVERY_STATUS_ACKNOWLEDGED: 'acknowledged',
};
const key = (s: DeliveryStatus) => KEY[deliveryStatusToJSON(s)] ?? deliveryStatusToJSON(s);

describe('public status changes', () => {
  it('delivers every change of a run to a subscriber, in order per record, ending at the shown status', async () => {
    const communicationId = `c_${rand(8)}`;
    const ids = Array.from({ length: 24 }, (_, i) => `d_${rand(6)}${i}`);
    const received: StatusChanged[] = [];
    const controller = new AbortController();
    const watching = watchStatusChanges({
      natsUrl: infra().natsUrl,
      namespace: h.ns,
      communicationId,
      status: '*',
      signal: controller.signal,
      onChange: (c) => void received.push(c),
    });

    await publishRecipients(
      h,
      communicationId,
      ids.map((id, i) => ({ id, channel: i % 2 ? 'sms' : 'email', name: `R${i}`, address: `r${i}@example.org` })),
    );
    // Per record: Sent, then Delivered or Failed, every third one acknowledged; all shuffled, some twice.
    const events = ids.flatMap((id, i) => {
      const list = [
        { eventId: `dispatch:${id}:1:sent`, status: DeliveryStatus.DELIVERY_STATUS_SENT, attempt: 1 },
        {
          eventId: `provider:sim:${id}:final`,
          status: i % 4 === 0 ? DeliveryStatus.DELIVERY_STATUS_FAILED : DeliveryStatus.DELIVERY_STATUS_DELIVERED,
          attempt: 1,
        },
      ];
      if (i % 3 === 0) {
        list.push({ eventId: `feedback:${id}:ack`, status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED, attempt: 0 });
      }
      return list.map((e) => ({ ...e, deliveryId: id, communicationId }));
    });
    const shuffled = [...events, ...events.slice(0, 10)].sort(() => Math.random() - 0.5);
    for (const e of shuffled) await publishEvent(h, { ...e, source: 'provider' }, `${e.eventId}:${rand(4)}`);
    await settled(h);

    const shown = new Map<string, string>();
    for (const id of ids) {
      const { body } = await getJson<DetailJson>(h, `/api/v1/delivery-records/${id}`);
      shown.set(id, body.record.status);
    }
    await eventually(() => {
      for (const id of ids) {
        const last = received.filter((c) => c.deliveryId === id).at(-1);
        expect(last && key(last.newStatus), id).toBe(shown.get(id));
      }
    });
    controller.abort();
    await watching;

    for (const id of ids) {
      const changes = received.filter((c) => c.deliveryId === id);
      // In order per record: versions 1, 2, 3 …, each change starting where the previous ended.
      expect(changes.map((c) => c.version)).toEqual(changes.map((_, i) => i + 1));
      expect(key(changes[0]!.oldStatus)).toBe('pending');
      for (let i = 1; i < changes.length; i += 1) expect(changes[i]!.oldStatus).toBe(changes[i - 1]!.newStatus);
      expect(changes.every((c) => c.communicationId === communicationId)).toBe(true);
    }
  });
});
