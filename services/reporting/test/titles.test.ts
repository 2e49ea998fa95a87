// Both reports name communications by title: reporting keeps its own copy of each title from the
// RecipientsAdded events communication publishes (it never reads communication's collections).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListDeliveryRecordsRequest, type ListDeliveryRecordsResponse } from '@dlr/contracts';
import { eventually } from '@dlr/testing';
import {
  AUTH,
  getJson,
  grpcClient,
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

const page = async (path: string) => (await fetch(`${h.httpUrl}${path}`, { headers: AUTH })).text();

describe('communication titles in the reports', () => {
  it('shows the title from communication’s events; an older event does not replace a newer title', async () => {
    const communicationId = `c_${rand(8)}`;
    const other = `c_${rand(8)}`;
    const at = new Date();
    await publishRecipients(
      h,
      communicationId,
      [{ id: `d_${rand(6)}`, channel: 'email', name: 'Ann', address: 'ann@example.org' }],
      { title: 'Flood <warning> — Riverside', occurredAt: at },
    );
    // A redelivered older batch (an earlier title) arrives late.
    await publishRecipients(
      h,
      communicationId,
      [{ id: `d_${rand(6)}`, channel: 'sms', name: 'Bob', address: '+61400000001' }],
      { title: 'Old draft title', occurredAt: new Date(at.getTime() - 60_000) },
    );
    await publishRecipients(h, other, [{ id: `d_${rand(6)}`, channel: 'email', name: 'Cat', address: 'c@x.org' }]);
    await settled(h);

    const list = await eventually(async () => {
      const { body } = await getJson<ListJson & { title: string }>(
        h,
        `/api/v1/communications/${communicationId}/delivery-records`,
      );
      expect(body.total).toBe(2);
      return body;
    });
    expect(list.title).toBe('Flood <warning> — Riverside');
    // A communication whose events carried no title shows its ID only.
    expect((await getJson<{ title: string }>(h, `/api/v1/communications/${other}/delivery-records`)).body.title).toBe(
      '',
    );

    const client = grpcClient(h);
    try {
      const viaGrpc = await new Promise<ListDeliveryRecordsResponse>((resolve, reject) =>
        client.listDeliveryRecords(ListDeliveryRecordsRequest.fromPartial({ communicationId }), (e, r) =>
          e ? reject(e) : resolve(r),
        ),
      );
      expect(viaGrpc.title).toBe('Flood <warning> — Riverside');
    } finally {
      client.close();
    }

    const report = await page(`/communications/${communicationId}`);
    expect(report).toContain('<span id="communication-title">Flood &lt;warning&gt; — Riverside</span>');
    expect(report).not.toContain('Old draft title');

    const mdr = await getJson<{ titles: Record<string, string> }>(
      h,
      `/api/v1/message-delivery-report?communicationId=${communicationId}`,
    );
    expect(mdr.body.titles).toEqual({ [communicationId]: 'Flood <warning> — Riverside' });
    const mdrPage = await page(`/reports/messages?communicationId=${communicationId}`);
    expect(mdrPage.match(/<span class="title">Flood &lt;warning&gt; — Riverside<\/span>/g)?.length).toBe(3);
  });
});
