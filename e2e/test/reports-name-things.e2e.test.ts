// Issue 16 item 3 through the whole system (five services as separate processes): the reports name
// the communication by its title, a recipient nobody can reach has a Not Sent row with its reason,
// and the Message Delivery Report's date range is the date sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

interface RecordView {
  recipientName: string;
  channel: string;
  status: string;
  reasonCode: string;
}
interface ListView {
  title: string;
  total: number;
  counts: Record<string, number>;
  records: RecordView[];
}
interface MdrView {
  total: number;
  titles: Record<string, string>;
}

let system: RunningSystem;
let api: CommunicationApi;

const operator = () => ({ authorization: `Bearer ${system.operatorToken}` });
async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${system.reportingUrl}${path}`, { headers: operator() });
  if (!res.ok) throw new Error(`GET ${path} → ${res.status}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  system = await startE2eSystem('e2enames');
  api = communicationClient(system.communicationGrpc, system.operatorToken);
});

afterAll(async () => {
  api?.close();
  await system?.stop();
});

describe('reports that name things', () => {
  it('show the title, the unreachable recipients as Not Sent with their reason, and filter by the date sent', async () => {
    const created = await api.create({
      title: 'Bushfire: leave Riverside now',
      emailSubject: 'Bushfire warning',
      emailBody: 'Leave now.',
      smsText: 'Bushfire: leave Riverside now.',
      channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
      acknowledgementRequested: false,
      responseOptions: [],
    });
    const id = created.communication!.id;
    await api.addRecipients({
      communicationId: id,
      recipients: [
        { externalId: '', name: 'Ann', email: 'delivered.ann@example.org', phone: '+61400009991' },
        { externalId: 'resident-42', name: 'No Contact', email: '', phone: '' },
        {
          externalId: '',
          name: 'Opted Out',
          email: 'delivered.opt@example.org',
          phone: '+61400009995',
          optedOutChannels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
        },
      ],
    });
    const list = `/api/v1/communications/${id}/delivery-records?limit=1000`;
    // Before sending: everyone has a row, the unreachable ones too (Pending).
    await eventually(async () => expect((await getJson<ListView>(list)).counts['pending']).toBe(4), 30_000);
    const today = new Date().toISOString().slice(0, 10);
    expect((await getJson<MdrView>(`/api/v1/message-delivery-report?communicationId=${id}&from=${today}`)).total).toBe(
      0,
    );

    await api.send({ communicationId: id });
    const done = await eventually(async () => {
      const v = await getJson<ListView>(list);
      expect(v.counts['pending'] ?? 0).toBe(0);
      expect(v.counts['sent'] ?? 0).toBe(0);
      return v;
    }, 60_000);
    expect(done.title).toBe('Bushfire: leave Riverside now');
    const rows = done.records.map((r) => [r.recipientName, r.channel, r.status, r.reasonCode]).sort();
    expect(rows).toEqual(
      [
        ['Ann', 'email', 'delivered', ''],
        ['Ann', 'sms', 'delivered', ''],
        ['No Contact', 'email', 'not_sent', 'no_address'],
        ['Opted Out', 'email', 'not_sent', 'preference'],
      ].sort(),
    );
    // Counts equal a recount of the rows.
    const recount: Record<string, number> = {};
    for (const r of done.records) recount[r.status] = (recount[r.status] ?? 0) + 1;
    for (const [status, n] of Object.entries(done.counts)) expect(n, status).toBe(recount[status] ?? 0);

    const mdr = await getJson<MdrView>(`/api/v1/message-delivery-report?communicationId=${id}&from=${today}`);
    expect(mdr.total).toBe(4);
    expect(mdr.titles[id]).toBe('Bushfire: leave Riverside now');
    const page = await (await fetch(`${system.reportingUrl}/communications/${id}`, { headers: operator() })).text();
    expect(page).toContain('<span id="communication-title">Bushfire: leave Riverside now</span>');
  });
});
