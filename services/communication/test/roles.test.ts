// Roles over gRPC and the console: a viewer reads and changes nothing, a sender creates and sends but
// cannot override or lift, an admin may do all; every refusal leaves the store as it was.
import { credentials, status } from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CommunicationServiceClient } from '@dlr/contracts';
import { bearerInterceptor } from '@dlr/platform';
import { api, grpcError, OPERATOR_TOKEN, startHarness, type Harness } from './helpers.js';

const VIEWER = 'test-viewer-token-0123456789';
const SENDER = 'test-sender-token-0123456789';

let h: Harness;
let mongo: MongoClient;
const clients: CommunicationServiceClient[] = [];

function as(token: string) {
  const client = new CommunicationServiceClient(`127.0.0.1:${h.service.grpcPort}`, credentials.createInsecure(), {
    interceptors: [bearerInterceptor(token)],
  });
  clients.push(client);
  return api(client);
}

const draft = {
  title: 'Roles drill',
  emailSubject: '',
  emailBody: '',
  smsText: 'Drill: no action needed.',
  channels: [Channel.CHANNEL_SMS],
  acknowledgementRequested: false,
  responseOptions: [],
};

beforeAll(async () => {
  h = await startHarness('commroles', { OPERATOR_VIEWER_TOKEN: VIEWER, OPERATOR_SENDER_TOKEN: SENDER });
  mongo = await new MongoClient(process.env.MONGODB_URI!).connect();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await mongo?.close();
  await h?.stop();
});

/** What the store holds for this service: communications, recipients and lift audits, counted. */
async function storeCounts(): Promise<Record<string, number>> {
  const db = mongo.db((h.service.config as { MONGODB_DB: string }).MONGODB_DB);
  const out: Record<string, number> = {};
  for (const name of (await db.listCollections().toArray()).map((c) => c.name).sort()) {
    out[name] = await db.collection(name).countDocuments();
  }
  return out;
}

describe('roles', () => {
  it('a viewer reads, and is refused (PERMISSION_DENIED / 403) every change, which changes nothing', async () => {
    const admin = as(OPERATOR_TOKEN);
    const viewer = as(VIEWER);
    const { communication } = await admin.createCommunication(draft);
    const id = communication!.id;

    // Reads.
    expect((await viewer.getCommunication({ id })).communication!.id).toBe(id);
    expect((await viewer.listCommunications({ pageSize: 10, pageToken: '' })).communications.length).toBeGreaterThan(0);
    const page = await fetch(`${h.service.httpUrl}/console/communications/${id}`, {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    expect(page.status).toBe(200);

    const before = await storeCounts();
    const denied = [
      viewer.createCommunication(draft),
      viewer.addRecipients({ communicationId: id, recipients: [] }),
      viewer.previewDelivery({ communicationId: id, pageSize: 10, pageToken: '' }),
      viewer.sendCommunication({ communicationId: id }),
      viewer.resendCommunication({ communicationId: id, requestId: 'r1', scope: 0, operator: 'v' }),
      viewer.overridePreferences({ communicationId: id, operator: 'v', reason: 'because' }),
      viewer.liftSuppression({ channel: Channel.CHANNEL_SMS, address: '+61400000001', operator: 'v', reason: 'x' }),
    ];
    for (const call of denied) expect((await grpcError(call)).code).toBe(status.PERMISSION_DENIED);
    for (const [path, body] of [
      ['/console/communications', 'title=x&sms_text=y&channels=sms'],
      [`/console/communications/${id}/send`, ''],
      [`/console/communications/${id}/override`, 'operator=v&reason=because'],
    ] as const) {
      const res = await fetch(`${h.service.httpUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${VIEWER}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe('permission_denied');
    }
    expect(await storeCounts()).toEqual(before);
    const after = (await admin.getCommunication({ id })).communication!;
    expect(after.state).toBe(communication!.state);
    expect(after.preferenceOverride).toBeUndefined();
  });

  it('a sender creates and sends, but cannot override or lift; an admin can', async () => {
    const sender = as(SENDER);
    const { communication } = await sender.createCommunication(draft);
    const id = communication!.id;
    const before = await storeCounts();
    expect(
      (await grpcError(sender.overridePreferences({ communicationId: id, operator: 's', reason: 'because' }))).code,
    ).toBe(status.PERMISSION_DENIED);
    expect(
      (
        await grpcError(
          sender.liftSuppression({ channel: Channel.CHANNEL_SMS, address: '+61400000001', operator: 's', reason: 'x' }),
        )
      ).code,
    ).toBe(status.PERMISSION_DENIED);
    const res = await fetch(`${h.service.httpUrl}/console/communications/${id}/override`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SENDER}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'operator=s&reason=because',
    });
    expect(res.status).toBe(403);
    expect(await storeCounts()).toEqual(before);

    // The admin may; the audit names the authenticated caller, not only the typed name.
    const admin = as(OPERATOR_TOKEN);
    await admin.overridePreferences({ communicationId: id, operator: 'duty officer', reason: 'storm' });
    const lift = await admin.liftSuppression({
      channel: Channel.CHANNEL_SMS,
      address: '+61400000001',
      operator: 'duty officer',
      reason: 'asked by phone',
    });
    const db = mongo.db((h.service.config as { MONGODB_DB: string }).MONGODB_DB);
    const audit = await db.collection('suppression_lifts').findOne({ _id: lift.liftId as never });
    expect(audit).toMatchObject({ operator: 'duty officer', principal: 'token:admin-token' });
  });
});
