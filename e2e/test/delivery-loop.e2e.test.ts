import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

interface RecordView {
  id: string;
  channel: string;
  recipientName: string;
  status: string;
  statusLabel: string;
  response: string;
  reasonCode: string;
}
interface ListView {
  total: number;
  counts: Record<string, number>;
  records: RecordView[];
  nextCursor: string | null;
}

let system: RunningSystem;
let api: CommunicationApi;

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return (await res.json()) as T;
}

const operator = () => ({ authorization: `Bearer ${system.operatorToken}` });

const list = (id: string) =>
  getJson<ListView>(`${system.reportingUrl}/api/v1/communications/${id}/delivery-records?limit=1000`, operator());

beforeAll(async () => {
  system = await startE2eSystem('e2e', {
    // The test answers within a second of the send, which feedback-link would hold as a likely
    // scanner ("too soon"); that rule has its own tests in services/feedback-link.
    extraEnv: { 'feedback-link': { LINK_BOT_WINDOW_SECONDS: '0' } },
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
});

afterAll(async () => {
  api?.close();
  if (system) {
    const codes = await system.stop();
    // Every process shut down cleanly on SIGTERM.
    expect(Object.values(codes).every((c) => c === 0)).toBe(true);
  }
});

describe('the whole delivery loop, five services as separate processes', () => {
  it('goes Pending → Sent → Delivered / Bounced Temporarily / Failed / Not Sent, then Acknowledged', async () => {
    const created = await api.create({
      title: 'E2E flood warning',
      emailSubject: 'Flood warning',
      emailBody: 'Move to higher ground.',
      smsText: 'Flood warning: move to higher ground.',
      channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
      acknowledgementRequested: true,
      responseOptions: [],
    });
    const id = created.communication!.id;
    // Magic addresses make the simulator's outcome certain (see packages/provider-simulator).
    const recipients = [
      { externalId: '', name: 'Ann', email: 'delivered.ann@example.org', phone: '+61400009991' },
      { externalId: '', name: 'Bob', email: 'delivered.bob@example.org', phone: '+61400019991' },
      { externalId: '', name: 'Cat', email: 'bounce.cat@example.org', phone: '+61400009993' },
      { externalId: '', name: 'Dan', email: 'failed.dan@example.org', phone: '+61400009992' },
      { externalId: '', name: 'Eve', email: 'reject.eve@example.org', phone: '+61400009990' },
    ];
    const added = await api.addRecipients({ communicationId: id, recipients });
    expect(added.createdCount).toBe(10);

    const pending = await eventually(
      async () => {
        const v = await list(id);
        expect(v.total, '10 Pending records').toBe(10);
        return v;
      },
      60_000,
      250,
    );
    expect(pending.counts.pending).toBe(10);
    expect(pending.records.every((r) => r.statusLabel === 'Pending')).toBe(true);

    await api.send({ communicationId: id });

    const final = await eventually(
      async () => {
        const v = await list(id);
        expect({ pending: v.counts.pending, sent: v.counts.sent }, 'every record to settle').toEqual({
          pending: 0,
          sent: 0,
        });
        return v;
      },
      60_000,
      250,
    );
    expect(final.counts).toMatchObject({
      pending: 0,
      sent: 0,
      delivered: 4,
      bounced_temporarily: 2,
      failed: 2,
      not_sent: 2,
      acknowledged: 0,
    });
    const byName = (name: string, channel: string) =>
      final.records.find((r) => r.recipientName === name && r.channel === channel)!;
    expect(byName('Cat', 'email').statusLabel).toBe('Bounced Temporarily');
    expect(byName('Dan', 'sms').statusLabel).toBe('Failed');
    expect(byName('Eve', 'email')).toMatchObject({ statusLabel: 'Not Sent', reasonCode: 'provider_rejected' });

    // A delivered record went through Sent on its way: its timeline has both events.
    const ann = byName('Ann', 'email');
    const detail = await getJson<{ timeline: { status: string }[] }>(
      `${system.reportingUrl}/api/v1/delivery-records/${ann.id}`,
      operator(),
    );
    expect(detail.timeline.map((e) => e.status)).toEqual(expect.arrayContaining(['sent', 'delivered']));

    // The recipient's acknowledge link, as the provider delivered it.
    const outbox = await getJson<{ messages: { body: string }[] }>(
      `${system.simulatorUrl}/v1/messages?deliveryId=${encodeURIComponent(ann.id)}`,
      { authorization: `Bearer ${system.simulatorApiKey}` },
    );
    expect(outbox.messages).toHaveLength(1);
    const link = /https?:\/\/\S+\/a\/[A-Za-z0-9._~-]+/.exec(outbox.messages[0]!.body)?.[0];
    expect(link).toBeDefined();

    // Opening the link changes nothing; confirming it records the acknowledgement.
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<button');
    expect(byName('Ann', 'email').status).toBe('delivered');
    const confirm = await fetch(link!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(confirm.status).toBe(200);

    const acked = await eventually(
      async () => {
        const v = await list(id);
        expect(v.counts.acknowledged, 'the acknowledgement').toBe(1);
        return v;
      },
      60_000,
      250,
    );
    expect(acked.counts).toMatchObject({
      delivered: 3,
      acknowledged: 1,
      bounced_temporarily: 2,
      failed: 2,
      not_sent: 2,
    });
    expect(acked.records.find((r) => r.id === ann.id)).toMatchObject({
      statusLabel: 'Acknowledged',
      response: 'Acknowledged',
    });
    expect(Object.values(acked.counts).reduce((a, b) => a + b, 0)).toBe(10);
  });
});
