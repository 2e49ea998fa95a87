// Personal messages (issue 16, item 2), through separate processes on real NATS and the real store: a
// communication with merge fields, 1 000 recipients uploaded as a CSV with extra columns on the operator
// console; every message at the simulator carries its own recipient's values, and the recipient page
// shows none of them. A CSV with one row missing a used field is refused naming that row, and nothing
// of it is added or sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

const RECIPIENTS = 1_000;

let system: RunningSystem;
let api: CommunicationApi;

beforeAll(async () => {
  system = await startE2eSystem('personalise');
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 120_000);

afterAll(async () => {
  api?.close();
  await system?.stop();
});

/** Posts a console form as the signed-in operator (bearer), without following the redirect. */
async function post(path: string, form: Record<string, string>) {
  const res = await fetch(`${system.httpUrls.communication}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${system.operatorToken}` },
    body: new URLSearchParams(form),
    redirect: 'manual',
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

interface OutboxMessage {
  channel: 'email' | 'sms';
  to: string;
  subject?: string;
  body: string;
  metadata: { communicationId: string };
}

async function outbox(communicationId: string): Promise<OutboxMessage[]> {
  const res = await fetch(`${system.simulatorUrl}/v1/messages?limit=10000`, {
    headers: { authorization: `Bearer ${system.simulatorApiKey}` },
  });
  if (!res.ok) throw new Error(`outbox: ${res.status}`);
  const { messages } = (await res.json()) as { messages: OutboxMessage[] };
  return messages.filter((m) => m.metadata.communicationId === communicationId);
}

const personal = {
  title: 'Evacuation order',
  emailSubject: 'Evacuation order for {{street}}',
  emailBody: 'Dear {{name}},\n\nLeave {{street}} now and go to {{evacuation_centre}}.',
  smsText: '{{name}}: leave {{street}} now, go to {{evacuation_centre}}.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: true,
  responseOptions: [],
};

const row = (i: number) => ({
  name: `Person ${i}`,
  email: i % 2 === 0 ? `person${i}@example.org` : '',
  phone: i % 2 === 1 ? `+6140${String(i).padStart(7, '0')}` : '',
  street: `${i} Coast Road`,
  centre: `Hall ${i % 7}`,
});

describe('merge fields', () => {
  it('sends each of 1 000 recipients of a CSV their own values; a row missing a used field refuses the upload', async () => {
    const created = await api.create(personal);
    const id = created.communication!.id;

    // One row without a street: the whole upload is refused, naming the CSV row, and nothing is added.
    const header = 'name,email,phone,street,Evacuation centre';
    const lines = (rows: ReturnType<typeof row>[]) =>
      [header, ...rows.map((r) => [r.name, r.email, r.phone, r.street, r.centre].join(','))].join('\n');
    const holed = Array.from({ length: 10 }, (_, i) => row(i));
    holed[6] = { ...holed[6]!, street: '' };
    const refused = await post(`/console/communications/${id}/recipients`, { csv: lines(holed) });
    expect(refused.status).toBe(400);
    expect(refused.html).toMatch(
      /<td>8<\/td><td>fields<\/td><td>no value for \{\{street\}\}, which the message uses<\/td>/,
    );
    expect((await api.get({ id })).communication!.deliveryCount).toBe(0);

    const rows = Array.from({ length: RECIPIENTS }, (_, i) => row(i));
    const added = await post(`/console/communications/${id}/recipients`, { csv: lines(rows) });
    expect(added.status, added.html.slice(0, 500)).toBe(303);
    expect((await api.get({ id })).communication!.deliveryCount).toBe(RECIPIENTS);
    await api.send({ communicationId: id });

    const messages = await eventually(async () => {
      const m = await outbox(id);
      expect(m).toHaveLength(RECIPIENTS);
      return m;
    }, 180_000);
    const byAddress = new Map(rows.map((r) => [r.email || r.phone, r]));
    for (const m of messages) {
      const r = byAddress.get(m.to)!;
      expect(r, m.to).toBeDefined();
      if (m.channel === 'email') {
        expect(m.subject).toBe(`Evacuation order for ${r.street}`);
        expect(m.body).toContain(`Dear ${r.name},\n\nLeave ${r.street} now and go to ${r.centre}.`);
      } else {
        expect(m.body.startsWith(`${r.name}: leave ${r.street} now, go to ${r.centre}.`), m.body).toBe(true);
      }
      expect(m.body).not.toContain('{{');
    }

    // The recipient page is the same for everyone: it shows the fields by name, no one's values.
    const sms = messages.find((m) => m.channel === 'sms')!;
    const link = /https?:\/\/\S+/.exec(sms.body)![0];
    const page = await eventually(async () => {
      const res = await fetch(link);
      expect(res.status).toBe(200);
      return res.text();
    }, 30_000);
    expect(page).toContain('[street]');
    expect(page).not.toContain('Coast Road');
  }, 300_000);
});
