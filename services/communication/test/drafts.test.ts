// Fixing drafts over gRPC, on real NATS and the real store: edit (set what is given, validated as a
// new communication), remove recipients, delete (audited); all refused after Send with nothing
// changed; a viewer is refused; removed delivery records are published as RecipientsRemoved, and a
// send after an edit carries the edited content only.
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditKind,
  Channel,
  CommunicationServiceClient,
  CommunicationState,
  DeleteDraftRequest,
  ListAuditLogRequest,
  RecipientsRemoved,
  RemoveRecipientsRequest,
  streamNames,
  subjects,
  UpdateDraftRequest,
  type DeleteDraftResponse,
  type ListAuditLogResponse,
  type RemoveRecipientsResponse,
  type UpdateDraftResponse,
} from '@dlr/contracts';
import { bearerInterceptor } from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { api, grpcError, OPERATOR_TOKEN, sendRequests, startHarness, type Harness } from './helpers.js';

const VIEWER = 'test-viewer-token-0123456789';
const SENDER = 'test-sender-token-0123456789';

let h: Harness;
let mongo: MongoClient;
const clients: CommunicationServiceClient[] = [];

function client(token: string) {
  const c = new CommunicationServiceClient(`127.0.0.1:${h.service.grpcPort}`, credentials.createInsecure(), {
    interceptors: [bearerInterceptor(token)],
  });
  clients.push(c);
  const call =
    <Req, Res>(m: (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown) =>
    (req: Req) =>
      new Promise<Res>((resolve, reject) =>
        m.call(c, req, new Metadata(), (e: ServiceError | null, r: Res) => (e ? reject(e) : resolve(r))),
      );
  return {
    ...api(c),
    update: (req: Partial<UpdateDraftRequest>) =>
      call<UpdateDraftRequest, UpdateDraftResponse>(c.updateDraft.bind(c))(UpdateDraftRequest.fromPartial(req)),
    remove: (req: Partial<RemoveRecipientsRequest>) =>
      call<RemoveRecipientsRequest, RemoveRecipientsResponse>(c.removeRecipients.bind(c))(
        RemoveRecipientsRequest.fromPartial(req),
      ),
    delete: (req: Partial<DeleteDraftRequest>) =>
      call<DeleteDraftRequest, DeleteDraftResponse>(c.deleteDraft.bind(c))(DeleteDraftRequest.fromPartial(req)),
    audit: (req: Partial<ListAuditLogRequest>) =>
      call<ListAuditLogRequest, ListAuditLogResponse>(c.listAuditLog.bind(c))(ListAuditLogRequest.fromPartial(req)),
  };
}

const content = {
  title: 'Flood warning',
  emailSubject: 'Flood warning',
  emailBody: 'Move to higher ground.',
  smsText: 'Flood warning: move to higher ground.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: false,
  responseOptions: [],
};

const people = [
  { externalId: 'p-ann', name: 'Ann', email: 'ann@example.org', phone: '+61412345678', optedOutChannels: [] },
  { externalId: '', name: 'Bob', email: 'Bob@Example.org', phone: '', optedOutChannels: [] },
  { externalId: 'p-cat', name: 'Cat', email: 'cat@example.org', phone: '+61412345679', optedOutChannels: [] },
];

/** A draft with the three people (five delivery records). */
async function draftWithPeople(c: ReturnType<typeof client>): Promise<string> {
  const { communication } = await c.createCommunication(content);
  const id = communication!.id;
  await c.addRecipients({ communicationId: id, recipients: people });
  return id;
}

async function removedEvents(communicationId: string): Promise<RecipientsRemoved[]> {
  const jsm = await jetstreamManager(h.nc);
  const stream = streamNames(h.namespace).communication;
  const { state } = await jsm.streams.info(stream);
  const out: RecipientsRemoved[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg?.subject !== subjects(h.namespace).recipientsRemoved) continue;
    const event = RecipientsRemoved.decode(msg.data);
    if (event.communicationId === communicationId) out.push(event);
  }
  return out;
}

function deliveries(communicationId: string) {
  return mongo
    .db((h.service.config as { MONGODB_DB: string }).MONGODB_DB)
    .collection<{ _id: string; recipientKey: string; channel: string }>('deliveries')
    .find({ communicationId })
    .toArray();
}

async function sendAndWait(c: ReturnType<typeof client>, id: string) {
  await c.sendCommunication({ communicationId: id });
  await eventually(
    async () =>
      expect((await c.getCommunication({ id })).communication!.state).toBe(CommunicationState.COMMUNICATION_STATE_SENT),
    10_000,
    50,
  );
}

beforeAll(async () => {
  h = await startHarness('commdrafts', { OPERATOR_VIEWER_TOKEN: VIEWER, OPERATOR_SENDER_TOKEN: SENDER });
  mongo = await new MongoClient(process.env.MONGODB_URI!).connect();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await mongo?.close();
  await h?.stop();
});

describe('UpdateDraft', () => {
  it('sets what is given, validates the whole, and a send carries the edited content', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const r = await sender.update({
      communicationId: id,
      title: 'Flood warning (corrected)',
      smsText: 'Flood warning: go to the school hall.',
      responseOptions: { options: ['Safe', 'Need help'] },
    });
    expect(r.communication).toMatchObject({
      title: 'Flood warning (corrected)',
      emailBody: content.emailBody, // not given: kept
      smsText: 'Flood warning: go to the school hall.',
      responseOptions: ['Safe', 'Need help'],
      deliveryCount: 5,
    });
    // Validated as CreateCommunication: an empty title, or email without a subject, is refused.
    const bad = await grpcError(sender.update({ communicationId: id, title: ' ', emailSubject: '' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/title/);
    expect((await sender.getCommunication({ id })).communication!.title).toBe('Flood warning (corrected)');

    await sendAndWait(sender, id);
    const sent = (await sendRequests(h)).filter((s) => s.communicationId === id);
    expect(sent).toHaveLength(5);
    expect(sent.every((s) => s.content!.title === 'Flood warning (corrected)')).toBe(true);
    expect(sent.filter((s) => s.channel === Channel.CHANNEL_SMS).map((s) => s.content!.smsText)).toEqual([
      'Flood warning: go to the school hall.',
      'Flood warning: go to the school hall.',
    ]);
  });

  it('refuses a merge field that recipients already added have no value for', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const bad = await grpcError(sender.update({ communicationId: id, emailBody: 'Go to {{centre}} now.' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/\{\{centre\}\}: 5 delivery record/);
    const ok = await sender.update({ communicationId: id, emailBody: 'Dear {{name}}, move now.' });
    expect(ok.communication!.emailBody).toBe('Dear {{name}}, move now.');
  });

  it('dropping a channel removes its delivery records and announces them', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const smsIds = (await deliveries(id)).filter((d) => d.channel === 'sms').map((d) => d._id);
    expect(smsIds).toHaveLength(2);
    const r = await sender.update({ communicationId: id, channels: { channels: [Channel.CHANNEL_EMAIL] } });
    expect(r.removedCount).toBe(2);
    expect(r.communication!.channels).toEqual([Channel.CHANNEL_EMAIL]);
    expect(r.communication!.deliveryCount).toBe(3);
    expect((await deliveries(id)).every((d) => d.channel === 'email')).toBe(true);
    const events = await removedEvents(id);
    expect(events.flatMap((e) => e.deliveryIds).sort()).toEqual([...smsIds].sort());
    expect(events.every((e) => !e.communicationDeleted && e.removedAt !== undefined)).toBe(true);
  });
});

describe('RemoveRecipients', () => {
  it('removes by external ID or by email/phone as AddRecipients identified them', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const r = await sender.remove({
      communicationId: id,
      recipients: [
        { externalId: 'p-ann', email: '', phone: '', recipientKey: '' },
        { externalId: '', email: 'bob@EXAMPLE.org', phone: '', recipientKey: '' }, // normalised as added
        { externalId: 'p-nobody', email: '', phone: '', recipientKey: '' },
      ],
    });
    expect(r.removedCount).toBe(3); // Ann's email and SMS, Bob's email
    expect(r.notFound).toEqual([2]);
    expect((await deliveries(id)).map((d) => d.recipientKey).sort()).toEqual(['x:p-cat', 'x:p-cat']);
    expect((await removedEvents(id)).flatMap((e) => e.deliveryIds)).toHaveLength(3);
    const bad = await grpcError(
      sender.remove({
        communicationId: id,
        recipients: [{ externalId: '', email: 'nope', phone: '', recipientKey: '' }],
      }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);

    await sendAndWait(sender, id);
    const sent = (await sendRequests(h)).filter((s) => s.communicationId === id);
    expect(sent.map((s) => s.recipientName)).toEqual(['Cat', 'Cat']);
  });
});

describe('DeleteDraft', () => {
  it('deletes the draft and its recipients (audited); a repeat changes nothing more', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const r = await sender.delete({ communicationId: id, reason: 'wrong area' });
    expect(r).toEqual({ removedCount: 5, alreadyDeleted: false });
    expect((await grpcError(sender.getCommunication({ id }))).code).toBe(status.NOT_FOUND);
    expect(await deliveries(id)).toEqual([]);
    const events = await removedEvents(id);
    expect(events.flatMap((e) => e.deliveryIds)).toHaveLength(5);
    expect(events.every((e) => e.communicationDeleted)).toBe(true);
    const list = await sender.listCommunications({ pageSize: 100, pageToken: '' });
    expect(list.communications.map((c) => c.id)).not.toContain(id);
    // Nothing to send any more.
    expect((await grpcError(sender.sendCommunication({ communicationId: id }))).code).toBe(status.NOT_FOUND);
    expect(await sender.delete({ communicationId: id, reason: '' })).toEqual({ removedCount: 0, alreadyDeleted: true });
    const admin = client(OPERATOR_TOKEN);
    const audit = await admin.audit({ kind: AuditKind.AUDIT_KIND_DELETE_DRAFT, communicationId: id });
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ actor: 'token:sender-token', reason: 'wrong area' });
  });
});

describe('once sending started, and roles', () => {
  it('refuses every change after Send with nothing changed; a viewer is refused', async () => {
    const sender = client(SENDER);
    const viewer = client(VIEWER);
    const id = await draftWithPeople(sender);
    // Each call made only when awaited: a second one refused while the first is awaited would be an
    // unhandled rejection (vitest fails the run on it).
    for (const refused of [
      () => viewer.update({ communicationId: id, title: 'x' }),
      () =>
        viewer.remove({
          communicationId: id,
          recipients: [{ externalId: 'p-ann', email: '', phone: '', recipientKey: '' }],
        }),
      () => viewer.delete({ communicationId: id }),
    ]) {
      expect((await grpcError(refused())).code).toBe(status.PERMISSION_DENIED);
    }
    await sendAndWait(sender, id);
    const before = await deliveries(id);
    for (const refused of [
      () => sender.update({ communicationId: id, title: 'Too late' }),
      () => sender.update({ communicationId: id, channels: { channels: [Channel.CHANNEL_EMAIL] } }),
      () =>
        sender.remove({
          communicationId: id,
          recipients: [{ externalId: 'p-ann', email: '', phone: '', recipientKey: '' }],
        }),
      () => sender.delete({ communicationId: id, reason: 'oops' }),
    ]) {
      const e = await grpcError(refused());
      expect(e.code).toBe(status.FAILED_PRECONDITION);
      expect(e.details).toMatch(/only a draft can be/);
    }
    const after = (await sender.getCommunication({ id })).communication!;
    expect(after.title).toBe(content.title);
    expect(after.channels).toEqual(content.channels);
    expect(await deliveries(id)).toEqual(before);
    expect(await removedEvents(id)).toEqual([]);
  });

  it('an edit racing a send: what is sent is all the old content or all the new', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const edit = sender
      .update({ communicationId: id, title: 'New title', smsText: 'New text', emailBody: 'New body' })
      .catch((e: ServiceError) => e);
    await Promise.all([edit, sender.sendCommunication({ communicationId: id })]);
    await eventually(
      async () =>
        expect((await sender.getCommunication({ id })).communication!.state).toBe(
          CommunicationState.COMMUNICATION_STATE_SENT,
        ),
      10_000,
      50,
    );
    const sent = (await sendRequests(h)).filter((s) => s.communicationId === id);
    expect(sent).toHaveLength(5);
    const shapes = new Set(sent.map((s) => `${s.content!.title}|${s.content!.emailBody}|${s.content!.smsText}`));
    expect(shapes.size).toBe(1);
    expect([`${content.title}|${content.emailBody}|${content.smsText}`, 'New title|New body|New text']).toContain(
      [...shapes][0],
    );
  });
});

describe('console', () => {
  const form = (token: string, path: string, body: Record<string, string | string[]>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const value of [v].flat()) params.append(k, value);
    return fetch(`${h.service.httpUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: params,
    });
  };
  const page = async (token: string, path: string) => {
    const res = await fetch(`${h.service.httpUrl}${path}`, {
      redirect: 'manual',
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, html: await res.text() };
  };

  it('edits, removes a recipient, confirms before Send, and deletes; a viewer is refused each change', async () => {
    const sender = client(SENDER);
    const id = await draftWithPeople(sender);
    const base = `/console/communications/${id}`;
    for (const [path, body] of [
      [`${base}/edit`, { title: 'x', channels: 'email', email_subject: 's', email_body: 'b' }],
      [`${base}/delete`, {}],
      [`${base}/recipients/remove`, { key: 'x:p-ann' }],
      [`${base}/send`, { confirm: 'yes' }],
    ] as const) {
      expect((await form(VIEWER, path, body)).status, path).toBe(403);
    }
    const edit = await page(SENDER, `${base}/edit`);
    expect(edit.html).toContain(`value="${content.title}"`); // prefilled
    const saved = await form(SENDER, `${base}/edit`, {
      title: 'Edited in the console',
      channels: ['email', 'sms'],
      email_subject: 'S',
      email_body: 'B',
      sms_text: 'T',
      response_options: 'Safe\nNeed help',
    });
    expect(saved.status).toBe(303);
    expect((await sender.getCommunication({ id })).communication).toMatchObject({
      title: 'Edited in the console',
      responseOptions: ['Safe', 'Need help'],
    });
    const bad = await form(SENDER, `${base}/edit`, { title: '', channels: 'email', email_subject: '', email_body: '' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('The draft was not changed');

    expect((await form(SENDER, `${base}/recipients/remove`, { key: 'x:p-ann' })).status).toBe(303);
    expect((await deliveries(id)).some((d) => d.recipientKey === 'x:p-ann')).toBe(false);

    const confirm = await page(SENDER, `${base}/send`);
    expect(confirm.html).toContain('2 recipients');
    expect(confirm.html).toMatch(/Email: 2 people/);
    expect(confirm.html).toMatch(/SMS: 1 person/);
    expect((await sender.getCommunication({ id })).communication!.state).toBe(
      CommunicationState.COMMUNICATION_STATE_DRAFT,
    );

    const other = await draftWithPeople(sender);
    expect((await page(SENDER, `/console/communications/${other}/delete`)).html).toContain('Delete draft');
    const deleted = await form(SENDER, `/console/communications/${other}/delete`, { reason: 'duplicate' });
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get('location')).toBe('/console?done=deleted');
    expect((await page(SENDER, `/console/communications/${other}`)).status).toBe(404);
  });
});
