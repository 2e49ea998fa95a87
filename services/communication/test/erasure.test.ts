// Erasing a person (admin only): one PersonErased without plaintext identifiers, an audit entry in
// `audit_log` naming the authenticated caller, and communication's own copies erased by its consumer.
// Refused callers and bad input change nothing.
import { credentials, status } from '@grpc/grpc-js';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CommunicationServiceClient } from '@dlr/contracts';
import { bearerInterceptor } from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { api, grpcError, OPERATOR_TOKEN, personErasedEvents, startHarness, type Harness } from './helpers.js';

const VIEWER = 'test-viewer-token-0123456789';
const SENDER = 'test-sender-token-0123456789';

let h: Harness;
let mongo: MongoClient;
let db: Db;
const clients: CommunicationServiceClient[] = [];

function as(token: string) {
  const client = new CommunicationServiceClient(`127.0.0.1:${h.service.grpcPort}`, credentials.createInsecure(), {
    interceptors: [bearerInterceptor(token)],
  });
  clients.push(client);
  return api(client);
}

const draft = {
  title: 'Warden Zoe Quill asks',
  emailSubject: 'Storm',
  emailBody: 'Zoe Quill will check on your street.',
  smsText: 'Storm drill: no action needed.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: false,
  responseOptions: [],
};

let n = 0;
/** A communication with the person (Zoe, both channels) and someone else (Ann). */
async function withPerson() {
  n += 1;
  const admin = as(OPERATOR_TOKEN);
  const { communication } = await admin.createCommunication(draft);
  const id = communication!.id;
  const zoe = { email: `zoe.quill${n}@example.org`, phone: `+6140055${String(n).padStart(4, '0')}`, name: 'Zoe Quill' };
  await admin.addRecipients({
    communicationId: id,
    recipients: [
      { externalId: `zq-${n}`, ...zoe, optedOutChannels: [] },
      {
        externalId: '',
        name: 'Ann Lee',
        email: `ann${n}@example.org`,
        phone: `+6140066${String(n).padStart(4, '0')}`,
        optedOutChannels: [],
      },
    ],
  });
  return { id, zoe, externalId: `zq-${n}` };
}

const deliveries = (communicationId: string) =>
  db.collection('deliveries').find({ communicationId }).sort({ _id: 1 }).toArray();

async function storeCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of (await db.listCollections().toArray()).map((c) => c.name).sort()) {
    out[name] = await db.collection(name).countDocuments();
  }
  return out;
}

function form(token: string, body: Record<string, string>) {
  return fetch(`${h.service.httpUrl}/console/erasure`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
}

beforeAll(async () => {
  h = await startHarness('commerase', { OPERATOR_VIEWER_TOKEN: VIEWER, OPERATOR_SENDER_TOKEN: SENDER });
  mongo = await new MongoClient(process.env.MONGODB_URI!).connect();
  db = mongo.db((h.service.config as { MONGODB_DB: string }).MONGODB_DB);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await mongo?.close();
  await h?.stop();
});

describe('ErasePerson', () => {
  it('refuses a viewer and a sender (PERMISSION_DENIED / 403 on the form), which changes nothing', async () => {
    const { zoe } = await withPerson();
    const before = await storeCounts();
    const events = (await personErasedEvents(h)).length;
    for (const token of [VIEWER, SENDER]) {
      const call = as(token).erasePerson({ email: zoe.email, phone: '', externalId: '', reason: 'asked' });
      expect((await grpcError(call)).code).toBe(status.PERMISSION_DENIED);
      const page = await fetch(`${h.service.httpUrl}/console/erasure`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(page.status).toBe(403);
      const post = await form(token, { email: zoe.email, phone: '', external_id: '', reason: 'asked' });
      expect(post.status).toBe(403);
    }
    expect(await storeCounts()).toEqual(before);
    expect((await personErasedEvents(h)).length).toBe(events);
  });

  it('refuses bad input with INVALID_ARGUMENT / 400, storing and publishing nothing', async () => {
    const before = await storeCounts();
    const events = (await personErasedEvents(h)).length;
    const admin = as(OPERATOR_TOKEN);
    for (const req of [
      { email: '', phone: '', externalId: '', reason: 'no identifier' },
      { email: 'not-an-email', phone: '', externalId: '', reason: 'bad email' },
      { email: '', phone: '0400', externalId: '', reason: 'bad phone' },
      { email: 'a@example.org', phone: '', externalId: '', reason: '' },
    ]) {
      expect((await grpcError(admin.erasePerson(req))).code).toBe(status.INVALID_ARGUMENT);
    }
    const res = await form(OPERATOR_TOKEN, { email: '', phone: '', external_id: '', reason: '' });
    expect(res.status).toBe(400);
    expect(await storeCounts()).toEqual(before);
    expect((await personErasedEvents(h)).length).toBe(events);
  });

  it('an admin erases a person: audited with the caller, one event without plaintext, copies erased, twice changes nothing more', async () => {
    const { id, zoe, externalId } = await withPerson();
    const admin = as(OPERATOR_TOKEN);
    const r = await admin.erasePerson({
      email: zoe.email.toUpperCase(),
      phone: '',
      externalId: '',
      reason: 'asked by email',
    });
    // Found by email, and the same recipient's SMS through their recipient key.
    expect(r.deliveryCount).toBe(2);

    const audit = await db.collection('audit_log').findOne({ _id: r.erasureId as never });
    expect(audit).toEqual({
      _id: r.erasureId,
      kind: 'erasure',
      actor: 'token:admin-token',
      at: r.erasedAt,
      reason: 'asked by email',
      summary: 'erased 1 person: 2 records in 1 communication',
    });

    const published = (await personErasedEvents(h)).filter((e) => e.event.erasureId === r.erasureId);
    expect(published).toHaveLength(1);
    const raw = Buffer.from(published[0]!.raw).toString('latin1').toLowerCase();
    for (const secret of ['zoe', 'quill', zoe.phone.slice(1), 'example.org']) expect(raw).not.toContain(secret);
    expect(published[0]!.event.deliveryIds).toHaveLength(2);

    const erased = await eventually(
      async () => {
        const docs = await deliveries(id);
        expect(docs.filter((d) => d['erased'] === true)).toHaveLength(2);
        return docs;
      },
      20_000,
      100,
    );
    const text = JSON.stringify(erased).toLowerCase();
    for (const secret of [zoe.email, zoe.phone, 'zoe', 'quill']) expect(text).not.toContain(secret.toLowerCase());
    // The other recipient is untouched.
    expect(erased.filter((d) => d['name'] === 'Ann Lee')).toHaveLength(2);
    const comm = await eventually(
      async () => {
        const c = await db.collection('communications').findOne({ _id: id as never });
        expect(c?.['title']).toBe('Warden [erased] asks');
        return c!;
      },
      20_000,
      100,
    );
    expect(comm['emailBody']).toBe('[erased] will check on your street.');

    // Again, by phone and external ID: nothing more to find, nothing changes.
    const snapshot = JSON.stringify(await deliveries(id));
    const again = await admin.erasePerson({ email: zoe.email, phone: zoe.phone, externalId: '', reason: 'again' });
    expect(again.deliveryCount).toBe(0);
    const byExternalId = await admin.erasePerson({ email: '', phone: '', externalId, reason: 'again' });
    expect(byExternalId.deliveryCount).toBe(0);
    await eventually(async () => {
      const events = await personErasedEvents(h);
      expect(events.some((e) => e.event.erasureId === byExternalId.erasureId)).toBe(true);
    }, 10_000);
    expect(JSON.stringify(await deliveries(id))).toBe(snapshot);
  });

  it('the console form erases for an admin, audited with the caller, echoing no identifier', async () => {
    const { id, zoe } = await withPerson();
    const res = await form(OPERATOR_TOKEN, {
      email: '',
      phone: zoe.phone,
      external_id: '',
      reason: 'asked at the desk',
    });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('recorded: 2 delivery record(s)');
    expect(page).not.toContain(zoe.phone);
    const audit = await db.collection('audit_log').find({ kind: 'erasure', reason: 'asked at the desk' }).toArray();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'token:admin-token',
      summary: 'erased 1 person: 2 records in 1 communication',
    });
    await eventually(async () => {
      expect((await deliveries(id)).filter((d) => d['erased'] === true)).toHaveLength(2);
    }, 20_000);
  });
});
