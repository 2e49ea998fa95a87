// Erasing a person through the whole system: a communication runs to three recipients (provider
// callbacks, an acknowledgement and a one-click opt-out through the feedback links), an admin erases
// one recipient over gRPC, and once every service's erasure consumer has applied it no document of any
// collection of any service's database holds that person's email, phone or name; the other recipients
// are untouched and both reports still add up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  Channel,
  CommunicationServiceClient,
  consumerNames,
  streamNames,
  subjects,
  type ErasePersonRequest,
  type ErasePersonResponse,
} from '@dlr/contracts';
import { connectMongo, connectNats, createLogger, type MongoHandle, type NatsHandle } from '@dlr/platform';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

interface RecordView {
  id: string;
  channel: string;
  recipientName: string;
  address: string;
  status: string;
}
interface ListView {
  total: number;
  counts: Record<string, number>;
  records: RecordView[];
}
interface MessageReport {
  total: number;
  totals: { channel: string; status: string; count: number }[];
  records: RecordView[];
}

const ZOE = { externalId: 'zq-77', name: 'Zoe Quill', email: 'delivered.zoe.quill@example.org', phone: '+61400779992' };
const OTHERS = [
  { externalId: '', name: 'Ann Lee', email: 'delivered.ann.lee@example.org', phone: '+61400889991' },
  { externalId: '', name: 'Bob Stone', email: 'bounce.bob.stone@example.org', phone: '+61400889993' },
];
/** What must not be found anywhere once Zoe is erased (case-sensitive: random tokens are base64url). */
const ZOE_TRACES = ['Zoe Quill', 'zoe quill', 'Quill', 'zoe.quill', '61400779992'];

let system: RunningSystem;
let api: CommunicationApi;
let nats: NatsHandle;
const logger = createLogger('erasure-e2e', 'silent');

const operator = () => ({ authorization: `Bearer ${system.operatorToken}` });

async function get(url: string): Promise<Response> {
  const res = await fetch(url, { headers: operator() });
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return res;
}
const getJson = async <T>(url: string) => (await (await get(url)).json()) as T;

const list = (id: string) =>
  getJson<ListView>(`${system.reportingUrl}/api/v1/communications/${id}/delivery-records?limit=1000`);

function erasePerson(token: string, req: ErasePersonRequest): Promise<ErasePersonResponse> {
  const client = new CommunicationServiceClient(system.communicationGrpc, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return new Promise<ErasePersonResponse>((resolve, reject) =>
    client.erasePerson(req, md, (e: ServiceError | null, r: ErasePersonResponse) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  ).finally(() => client.close());
}

/** Every document of every collection of every database of this system, as JSON, by `db.collection`. */
async function everyDocument(): Promise<Map<string, string[]>> {
  const prefix = `${system.namespace.replaceAll('-', '_')}_`;
  const admin = await connectMongo({ uri: process.env.MONGODB_URI!, dbName: 'admin', logger, appName: 'scan' });
  const out = new Map<string, string[]>();
  try {
    const { databases } = await admin.db.admin().listDatabases({ nameOnly: true });
    const names = databases.map((d) => d.name).filter((n) => n.startsWith(prefix));
    // The five services' databases.
    expect(names.length).toBe(5);
    for (const dbName of names) {
      const mongo: MongoHandle = await connectMongo({ uri: process.env.MONGODB_URI!, dbName, logger, appName: 'scan' });
      try {
        for (const { name } of await mongo.db.listCollections({}, { nameOnly: true }).toArray()) {
          const docs = await mongo.db.collection(name).find({}).toArray();
          out.set(
            `${dbName}.${name}`,
            docs.map((d) => JSON.stringify(d)),
          );
        }
      } finally {
        await mongo.close();
      }
    }
  } finally {
    await admin.close();
  }
  return out;
}

/** Where any of `traces` is found: `db.collection: trace` per hit. */
function hits(all: Map<string, string[]>, traces: readonly string[]): string[] {
  const found: string[] = [];
  for (const [where, docs] of all)
    for (const doc of docs) for (const t of traces) if (doc.includes(t)) found.push(`${where}: ${t}`);
  return found;
}

/** True once each service's erasure consumer has acknowledged every message up to `seq`. */
async function everyServiceApplied(seq: number): Promise<void> {
  const stream = streamNames(system.namespace).communication;
  for (const durable of [
    consumerNames.communicationErasure,
    consumerNames.dispatchErasure,
    consumerNames.callbackErasure,
    consumerNames.feedbackErasure,
    consumerNames.reportingErasure,
  ]) {
    const info = await nats.jsm.consumers.info(stream, durable);
    expect(info.ack_floor.stream_seq, `${durable} acknowledged the erasure`).toBeGreaterThanOrEqual(seq);
  }
}

/** The report's counts recounted from its rows, and checked against its own counts and the second report. */
async function reportsAddUp(id: string): Promise<ListView> {
  const v = await list(id);
  const recount: Record<string, number> = {};
  for (const r of v.records) recount[r.status] = (recount[r.status] ?? 0) + 1;
  expect(v.total).toBe(6);
  expect(v.records).toHaveLength(6);
  expect(Object.fromEntries(Object.entries(v.counts).filter(([, n]) => n > 0))).toEqual(recount);
  const message = await getJson<MessageReport>(
    `${system.reportingUrl}/api/v1/message-delivery-report?communicationId=${id}&limit=100`,
  );
  expect(message.total).toBe(6);
  const byStatus: Record<string, number> = {};
  for (const t of message.totals) if (t.count > 0) byStatus[t.status] = (byStatus[t.status] ?? 0) + t.count;
  expect(byStatus).toEqual(recount);
  for (const csv of [
    `${system.reportingUrl}/api/v1/communications/${id}/delivery-records.csv`,
    `${system.reportingUrl}/api/v1/message-delivery-report.csv?communicationId=${id}`,
  ]) {
    const lines = (await (await get(csv)).text()).trim().split('\n');
    expect(lines.length - 1, csv).toBe(6);
  }
  return v;
}

beforeAll(async () => {
  system = await startE2eSystem('erasure', {
    // The test answers within a second of the send (feedback-link's bot rule has its own tests).
    extraEnv: { 'feedback-link': { LINK_BOT_WINDOW_SECONDS: '0' } },
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  nats = await connectNats({ servers: process.env.NATS_URL!, name: 'erasure-e2e', logger });
});

afterAll(async () => {
  api?.close();
  await nats?.drain();
  if (system) {
    const codes = await system.stop();
    expect(Object.values(codes).every((c) => c === 0)).toBe(true);
  }
});

describe('erasing a person', () => {
  it('leaves no trace of them in any collection of any service, and both reports still add up', async () => {
    const created = await api.create({
      title: 'Storm: Zoe Quill is your warden',
      emailSubject: 'Storm warning',
      emailBody: 'Stay indoors. Your street warden is Zoe Quill.',
      smsText: 'Storm warning: stay indoors.',
      channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
      acknowledgementRequested: true,
      responseOptions: [],
    });
    const id = created.communication!.id;
    await api.addRecipients({ communicationId: id, recipients: [ZOE, ...OTHERS] });
    await eventually(async () => expect((await list(id)).total).toBe(6), 60_000, 250);
    await api.send({ communicationId: id });
    const settled = await eventually(
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
    const zoeEmail = settled.records.find((r) => r.recipientName === ZOE.name && r.channel === 'email')!;

    // Zoe acknowledges, then unsubscribes with one click, from the email the provider delivered.
    const outbox = await fetch(`${system.simulatorUrl}/v1/messages?deliveryId=${encodeURIComponent(zoeEmail.id)}`, {
      headers: { authorization: `Bearer ${system.simulatorApiKey}` },
    });
    const body = ((await outbox.json()) as { messages: { body: string }[] }).messages[0]!.body;
    const ack = /https?:\/\/\S+\/a\/[A-Za-z0-9._~-]+/.exec(body)?.[0];
    const optout = /https?:\/\/\S+\/u\/[A-Za-z0-9._~-]+/.exec(body)?.[0];
    expect(ack && optout, 'the email holds the acknowledge and opt-out links').toBeTruthy();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await fetch(ack!, { method: 'POST', headers: form, body: '' })).status).toBe(200);
    expect((await fetch(optout!, { method: 'POST', headers: form, body: 'List-Unsubscribe=One-Click' })).status).toBe(
      200,
    );
    await eventually(
      async () => {
        const r = (await list(id)).records.find((x) => x.id === zoeEmail.id)!;
        expect(['acknowledged', 'opted_out']).toContain(r.status);
      },
      60_000,
      250,
    );
    // Before: the person is in the stores the scan below reads. (The simulator's callbacks carry IDs
    // only; raw callbacks quoting addresses, as SES and Twilio send them, are erased in provider-callback's tests.)
    const held = new Set(hits(await everyDocument(), ZOE_TRACES).map((h) => h.split(':')[0] ?? ''));
    for (const where of [
      '_communication.deliveries',
      '_communication.communications',
      '_reporting.delivery_records',
      '_feedback.link_content',
    ])
      expect(
        [...held].some((w) => w.endsWith(where)),
        `${where} held the person before`,
      ).toBe(true);
    const before = await reportsAddUp(id);

    // Only an admin may erase.
    for (const token of [system.viewerToken, system.senderToken]) {
      const refused = await erasePerson(token, { email: ZOE.email, phone: '', externalId: '', reason: 'asked' }).then(
        () => undefined,
        (e: ServiceError) => e.code,
      );
      expect(refused).toBe(status.PERMISSION_DENIED);
    }
    const erased = await erasePerson(system.operatorToken, {
      email: ZOE.email,
      phone: '',
      externalId: '',
      reason: 'asked by email',
    });
    expect(erased.deliveryCount).toBe(2);
    const seq = (await nats.jsm.streams.getMessage(streamNames(system.namespace).communication, {
      last_by_subj: subjects(system.namespace).personErased,
    }))!.seq;

    await eventually(() => everyServiceApplied(seq), 60_000, 250);
    const all = await eventually(
      async () => {
        const docs = await everyDocument();
        expect(hits(docs, ZOE_TRACES)).toEqual([]);
        return docs;
      },
      60_000,
      500,
    );
    // The others are untouched, where they were.
    for (const other of OTHERS) {
      const where = new Set(hits(all, [other.name, other.email]).map((h) => h.split(':')[0] ?? ''));
      expect(
        [...where].some((w) => w.endsWith('_communication.deliveries')),
        other.name,
      ).toBe(true);
      expect(
        [...where].some((w) => w.endsWith('_reporting.delivery_records')),
        other.name,
      ).toBe(true);
    }
    // The audit names the caller and not the person.
    const audit = [...all]
      .find(([w]) => w.endsWith('_communication.audit_log'))![1]
      .map((d) => JSON.parse(d) as Record<string, unknown>);
    expect(audit).toEqual([
      expect.objectContaining({ _id: erased.erasureId, kind: 'erasure', actor: 'token:admin-token' }),
    ]);

    // Both reports: the same counts as before, the person's rows shown erased.
    const after = await reportsAddUp(id);
    expect(after.counts).toEqual(before.counts);
    const rows = after.records.filter((r) => r.recipientName === '[erased]');
    expect(rows.map((r) => r.address)).toEqual(['[erased]', '[erased]']);
    expect(after.records.filter((r) => r.recipientName !== '[erased]').map((r) => r.status)).toEqual(
      before.records.filter((r) => r.recipientName !== ZOE.name).map((r) => r.status),
    );

    // Erasing again finds nothing more and changes nothing.
    const again = await erasePerson(system.operatorToken, {
      email: ZOE.email,
      phone: ZOE.phone,
      externalId: ZOE.externalId,
      reason: 'asked again',
    });
    expect(again.deliveryCount).toBe(0);
    const seq2 = (await nats.jsm.streams.getMessage(streamNames(system.namespace).communication, {
      last_by_subj: subjects(system.namespace).personErased,
    }))!.seq;
    await eventually(() => everyServiceApplied(seq2), 60_000, 250);
    expect((await reportsAddUp(id)).counts).toEqual(before.counts);
    expect(hits(await everyDocument(), ZOE_TRACES)).toEqual([]);
  });
});
