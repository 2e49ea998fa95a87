// The operator controls over gRPC and the console, on real NATS and the real store: cancel a send
// (sender; idempotent; audited; dispatch's signal in the cancellations bucket), the audit log
// (admin; filters, cursor), the suppression list (admin; search by address, lift from there).
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditKind,
  CancelCommunicationRequest,
  Channel,
  CommunicationServiceClient,
  CommunicationState,
  kvBucketNames,
  ListAuditLogRequest,
  ListSuppressionsRequest,
  ResendScope,
  suppressionKey,
  type CancelCommunicationResponse,
  type ListAuditLogResponse,
  type ListSuppressionsResponse,
} from '@dlr/contracts';
import { bearerInterceptor } from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { api, grpcError, OPERATOR_TOKEN, startHarness, type Harness } from './helpers.js';

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
    cancel: (req: Partial<CancelCommunicationRequest>) =>
      call<CancelCommunicationRequest, CancelCommunicationResponse>(c.cancelCommunication.bind(c))(
        CancelCommunicationRequest.fromPartial(req),
      ),
    audit: (req: Partial<ListAuditLogRequest>) =>
      call<ListAuditLogRequest, ListAuditLogResponse>(c.listAuditLog.bind(c))(ListAuditLogRequest.fromPartial(req)),
    suppressions: (req: Partial<ListSuppressionsRequest>) =>
      call<ListSuppressionsRequest, ListSuppressionsResponse>(c.listSuppressions.bind(c))(
        ListSuppressionsRequest.fromPartial(req),
      ),
  };
}

const draft = {
  title: 'Controls drill',
  emailSubject: 'Drill',
  emailBody: 'No action needed.',
  smsText: '',
  channels: [Channel.CHANNEL_EMAIL],
  acknowledgementRequested: false,
  responseOptions: [],
};

function db() {
  return mongo.db((h.service.config as { MONGODB_DB: string }).MONGODB_DB);
}

async function post(path: string, token: string, body: string) {
  return fetch(`${h.service.httpUrl}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

async function get(path: string, token: string) {
  return fetch(`${h.service.httpUrl}${path}`, { redirect: 'manual', headers: { authorization: `Bearer ${token}` } });
}

/** A communication with two recipients, sent (its fan-out finished). */
async function sentCommunication(admin: ReturnType<typeof client>): Promise<string> {
  const { communication } = await admin.createCommunication(draft);
  const id = communication!.id;
  await admin.addRecipients({
    communicationId: id,
    recipients: [
      { externalId: 'a', name: 'Ann', email: 'ann@example.org', phone: '', optedOutChannels: [] },
      { externalId: 'b', name: 'Bob', email: 'bob@example.org', phone: '', optedOutChannels: [] },
    ],
  });
  await admin.sendCommunication({ communicationId: id });
  await eventually(
    async () =>
      expect((await admin.getCommunication({ id })).communication!.state).toBe(
        CommunicationState.COMMUNICATION_STATE_SENT,
      ),
    10_000,
    50,
  );
  return id;
}

beforeAll(async () => {
  h = await startHarness('commcontrols', { OPERATOR_VIEWER_TOKEN: VIEWER, OPERATOR_SENDER_TOKEN: SENDER });
  mongo = await new MongoClient(process.env.MONGODB_URI!).connect();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await mongo?.close();
  await h?.stop();
});

describe('cancel a send', () => {
  it('a viewer is refused; a sender cancels once (audited, signalled to dispatch); again changes nothing', async () => {
    const admin = client(OPERATOR_TOKEN);
    const sender = client(SENDER);
    const viewer = client(VIEWER);
    const { communication } = await admin.createCommunication(draft);
    // A draft: nothing was sent, nothing to cancel.
    expect((await grpcError(sender.cancel({ communicationId: communication!.id, reason: 'x' }))).code).toBe(
      status.FAILED_PRECONDITION,
    );
    const id = await sentCommunication(admin);

    expect((await grpcError(viewer.cancel({ communicationId: id, reason: 'wrong area' }))).code).toBe(
      status.PERMISSION_DENIED,
    );
    expect((await post(`/console/communications/${id}/cancel`, VIEWER, 'reason=wrong+area')).status).toBe(403);
    expect((await grpcError(sender.cancel({ communicationId: id, reason: '  ' }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await admin.getCommunication({ id })).communication!.cancellation).toBeUndefined();

    const first = await sender.cancel({ communicationId: id, reason: 'wrong area' });
    expect(first.alreadyCancelled).toBe(false);
    expect(first.communication!.cancellation).toMatchObject({ actor: 'token:sender-token', reason: 'wrong area' });
    const again = await sender.cancel({ communicationId: id, reason: 'again' });
    expect(again.alreadyCancelled).toBe(true);
    expect(again.communication!.cancellation!.reason).toBe('wrong area');

    // Dispatch's signal: the communication's key in the cancellations bucket.
    const kv = await new Kvm(h.nc).open(kvBucketNames(h.namespace).cancellations);
    expect((await kv.get(id))?.operation).toBe('PUT');
    // One audit entry, naming the authenticated caller.
    const entries = await db().collection('audit_log').find({ kind: 'cancel', communicationId: id }).toArray();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'token:sender-token', reason: 'wrong area' });
    expect(entries[0]!._id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // A cancelled communication is not resent.
    expect(
      (
        await grpcError(
          sender.resendCommunication({
            communicationId: id,
            requestId: 'r1',
            scope: ResendScope.RESEND_SCOPE_NOT_DELIVERED,
            operator: 's',
          }),
        )
      ).code,
    ).toBe(status.FAILED_PRECONDITION);
    const page = await (await get(`/console/communications/${id}`, VIEWER)).text();
    expect(page).toContain('The send was cancelled');
    expect(page).toContain('token:sender-token');
  });

  it('the console asks for confirmation, refuses an empty reason, then cancels', async () => {
    const admin = client(OPERATOR_TOKEN);
    const id = await sentCommunication(admin);
    const page = await get(`/console/communications/${id}`, SENDER);
    expect(await page.text()).toContain(`/console/communications/${id}/cancel`);
    const confirm = await get(`/console/communications/${id}/cancel`, SENDER);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Are you sure?');
    const empty = await post(`/console/communications/${id}/cancel`, SENDER, 'reason=');
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('reason: is required');
    const done = await post(`/console/communications/${id}/cancel`, SENDER, 'reason=sent+by+mistake');
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/console/communications/${id}?done=cancelled`);
    expect((await admin.getCommunication({ id })).communication!.cancellation).toMatchObject({
      actor: 'token:sender-token',
      reason: 'sent by mistake',
    });
  });
});

describe('audit log', () => {
  it('records overrides, resends, cancels and lifts with the caller; admin-only; filters and pages', async () => {
    const admin = client(OPERATOR_TOKEN);
    const sender = client(SENDER);
    const viewer = client(VIEWER);
    const start = new Date();
    const { communication } = await admin.createCommunication(draft);
    const draftId = communication!.id;
    await admin.overridePreferences({ communicationId: draftId, operator: 'Duty Officer', reason: 'storm' });
    await admin.overridePreferences({ communicationId: draftId, operator: 'Duty Officer', reason: 'storm again' });
    const sentId = await sentCommunication(admin);
    await sender.resendCommunication({
      communicationId: sentId,
      requestId: 'rs1',
      scope: ResendScope.RESEND_SCOPE_NOT_DELIVERED,
      operator: 'Sam Sender',
    });
    await sender.cancel({ communicationId: sentId, reason: 'wrong list' });
    await admin.liftSuppression({
      channel: Channel.CHANNEL_EMAIL,
      address: 'ada@example.org',
      operator: 'Duty Officer',
      reason: 'asked by phone',
    });

    for (const c of [viewer, sender]) expect((await grpcError(c.audit({}))).code).toBe(status.PERMISSION_DENIED);
    for (const token of [VIEWER, SENDER]) expect((await get('/console/audit', token)).status).toBe(403);

    const all = await admin.audit({ from: start });
    const kinds = all.entries.map((e) => [e.kind, e.actor]);
    // Newest first; the repeated override recorded nothing more.
    expect(kinds).toEqual([
      [AuditKind.AUDIT_KIND_LIFT, 'token:admin-token'],
      [AuditKind.AUDIT_KIND_CANCEL, 'token:sender-token'],
      [AuditKind.AUDIT_KIND_RESEND, 'token:sender-token'],
      [AuditKind.AUDIT_KIND_OVERRIDE, 'token:admin-token'],
    ]);
    // No address or typed name in any entry.
    const text = JSON.stringify(await db().collection('audit_log').find({}).toArray());
    for (const pii of ['ada@example.org', 'ann@example.org', 'Duty Officer', 'Sam Sender'])
      expect(text).not.toContain(pii);

    expect((await admin.audit({ from: start, kind: AuditKind.AUDIT_KIND_CANCEL })).entries).toHaveLength(1);
    expect((await admin.audit({ from: start, communicationId: sentId })).entries.map((e) => e.kind)).toEqual([
      AuditKind.AUDIT_KIND_CANCEL,
      AuditKind.AUDIT_KIND_RESEND,
    ]);
    expect((await admin.audit({ from: start, actor: 'token:sender-token' })).entries).toHaveLength(2);
    expect((await admin.audit({ from: new Date(start.getTime() - 1), to: start })).entries).toHaveLength(0);
    expect((await grpcError(admin.audit({ from: new Date(), to: start }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await grpcError(admin.audit({ pageToken: 'nope' }))).code).toBe(status.INVALID_ARGUMENT);

    // A page at a time, by cursor: the same entries.
    const paged: string[] = [];
    let token = '';
    do {
      const p = await admin.audit({ from: start, pageSize: 1, pageToken: token });
      paged.push(...p.entries.map((e) => e.id));
      token = p.nextPageToken;
    } while (token !== '');
    expect(paged).toEqual(all.entries.map((e) => e.id));

    const page = await get(`/console/audit?kind=cancel&communication=${sentId}`, OPERATOR_TOKEN);
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain('wrong list');
    expect(body).toContain('token:sender-token');
    expect(body).not.toContain('storm');
    expect((await get('/console/audit?from=yesterday', OPERATOR_TOKEN)).status).toBe(400);
  });
});

describe('suppression list', () => {
  it('admin-only; finds an address after normalising; lifts it from the page (audited)', async () => {
    const admin = client(OPERATOR_TOKEN);
    const sender = client(SENDER);
    const key = suppressionKey('email', 'grace@example.org');
    await db()
      .collection('suppressions')
      .insertOne({
        _id: key as never,
        channel: 'email',
        reason: 'opted_out',
        eventId: 'ev1',
        deliveryId: 'd_grace',
        communicationId: 'c_origin',
        suppressedAt: new Date('2026-11-30T08:00:00Z'),
      });

    expect((await grpcError(sender.suppressions({}))).code).toBe(status.PERMISSION_DENIED);
    for (const token of [VIEWER, SENDER]) {
      expect((await get('/console/suppressions', token)).status).toBe(403);
      expect((await post('/console/suppressions/search', token, 'address=grace%40example.org')).status).toBe(403);
      expect(
        (
          await post(
            '/console/suppressions/lift',
            token,
            'channel=email&address=grace%40example.org&operator=x&reason=y',
          )
        ).status,
      ).toBe(403);
    }

    const found = await admin.suppressions({ address: ' Grace@Example.ORG ' });
    expect(found.suppressions).toEqual([
      expect.objectContaining({ addressKey: key, reason: 'opted_out', communicationId: 'c_origin' }),
    ]);
    expect((await admin.suppressions({ address: 'nobody@example.org' })).suppressions).toEqual([]);
    expect((await grpcError(admin.suppressions({ address: 'not an address' }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await admin.suppressions({})).suppressions.map((s) => s.addressKey)).toContain(key);

    const search = await post('/console/suppressions/search', OPERATOR_TOKEN, 'address=+GRACE%40example.org+');
    expect(search.status).toBe(200);
    const html = await search.text();
    expect(html).toContain('Opted out');
    expect(html).toContain('c_origin');
    expect(html).toContain('Lift suppression');

    const bad = await post(
      '/console/suppressions/lift',
      OPERATOR_TOKEN,
      'channel=email&address=grace%40example.org&operator=Ops&reason=',
    );
    expect(bad.status).toBe(400);
    expect(
      await db()
        .collection('suppressions')
        .countDocuments({ _id: key as never }),
    ).toBe(1);
    const lifted = await post(
      '/console/suppressions/lift',
      OPERATOR_TOKEN,
      'channel=email&address=grace%40example.org&operator=Ops&reason=confirmed+by+phone',
    );
    expect(lifted.status).toBe(303);
    expect(
      await db()
        .collection('suppressions')
        .countDocuments({ _id: key as never }),
    ).toBe(0);
    const entry = await db().collection('audit_log').findOne({ kind: 'lift', reason: 'confirmed by phone' });
    expect(entry).toMatchObject({ actor: 'token:admin-token' });
    expect(JSON.stringify(entry)).not.toContain('grace');
    const after = await post('/console/suppressions/search', OPERATOR_TOKEN, 'address=grace%40example.org');
    expect(await after.text()).toContain('This address is not suppressed.');
  });
});
