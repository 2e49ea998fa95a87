// Recipients nobody can reach (no address on any channel, or opted out of every channel) have a row:
// Pending once added, Not Sent with reason no_address / preference once dispatch records them, and
// counted like every other record (the counts equal a recount of the rows).
import { DeliveryStatus } from '@dlr/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@dlr/testing';
import {
  counts,
  getJson,
  publishEvent,
  publishRecipients,
  rand,
  settled,
  startReporting,
  type Harness,
  type ListJson,
} from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startReporting();
});
afterAll(async () => {
  await h?.stop();
});

describe('recipients nobody can reach', () => {
  it('show as Not Sent with their reason, and the counts equal a recount of the rows', async () => {
    const communicationId = `c_${rand(8)}`;
    const [ann, none, held] = [`d_${rand(6)}a`, `d_${rand(6)}n`, `d_${rand(6)}p`];
    await publishRecipients(h, communicationId, [
      { id: ann, channel: 'email', name: 'Ann', address: 'ann@example.org' },
      { id: none, channel: 'email', name: 'No Contact', address: '' },
      { id: held, channel: 'sms', name: 'Opted Out', address: '+61400555666' },
    ]);
    await settled(h);
    const path = `/api/v1/communications/${communicationId}/delivery-records`;
    expect((await getJson<ListJson>(h, path)).body.counts).toEqual(counts({ pending: 3 }));

    const notSent = (deliveryId: string, reasonCode: string, reasonText: string) =>
      publishEvent(h, {
        eventId: `dispatch:${deliveryId}:1:not_sent`,
        deliveryId,
        communicationId,
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        attempt: 1,
        source: 'dispatch',
        reasonCode,
        reasonText,
      });
    await publishEvent(h, {
      eventId: `dispatch:${ann}:1:sent`,
      deliveryId: ann,
      communicationId,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      attempt: 1,
      source: 'dispatch',
    });
    await notSent(none, 'no_address', "the recipient has no address for any of the communication's channels");
    await notSent(held, 'preference', "the recipient opted out of every one of the communication's channels");
    await settled(h);

    const body = await eventually(async () => {
      const { body } = await getJson<ListJson>(h, path);
      expect(body.counts).toEqual(counts({ sent: 1, not_sent: 2 }));
      return body;
    });
    const rows = new Map(body.records.map((r) => [r.recipientName, r]));
    expect(rows.get('No Contact')).toMatchObject({ status: 'not_sent', reasonCode: 'no_address', address: '' });
    expect(rows.get('Opted Out')).toMatchObject({ status: 'not_sent', reasonCode: 'preference' });
    const recount: Record<string, number> = counts({});
    for (const r of body.records) recount[r.status] = (recount[r.status] ?? 0) + 1;
    expect(body.counts).toEqual(recount);
    expect(body.total).toBe(body.records.length);

    // The Not Sent filter lists exactly them.
    const filtered = await getJson<ListJson>(h, `${path}?status=not_sent`);
    expect(filtered.body.records.map((r) => r.recipientName).sort()).toEqual(['No Contact', 'Opted Out']);
  });
});
