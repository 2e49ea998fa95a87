// Cancel a send in progress (issue 17 part 1), through separate processes on real NATS and the real
// store: 5 000 recipients, dispatch rate-limited at the simulator so the send takes a while; cancel
// midway over gRPC; the simulator's outbox stops growing within a second; every record ends as a
// real outcome or Not Sent `cancelled`; counts equal a recount; nothing sent twice; the audit log
// (gRPC and the console page) names who cancelled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AuditKind,
  CancelCommunicationRequest,
  Channel,
  CommunicationServiceClient,
  ListAuditLogRequest,
  type CancelCommunicationResponse,
  type ListAuditLogResponse,
} from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

const RECIPIENTS = 5_000;
const RATE = 100; // provider calls per second: 5 000 would take 50 s

let system: RunningSystem;
let api: CommunicationApi;
let grpc: CommunicationServiceClient;

interface ListView {
  total: number;
  counts: Record<string, number>;
  records: { id: string; status: string; reasonCode: string }[];
  nextCursor: string | null;
}

async function page(communicationId: string, cursor?: string): Promise<ListView> {
  const query = `limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
  const res = await fetch(`${system.reportingUrl}/api/v1/communications/${communicationId}/delivery-records?${query}`, {
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  if (!res.ok) throw new Error(`delivery records: ${res.status}`);
  return (await res.json()) as ListView;
}

async function allRecords(communicationId: string) {
  const first = await page(communicationId);
  const records = [...first.records];
  for (let cursor = first.nextCursor; cursor;) {
    const next = await page(communicationId, cursor);
    records.push(...next.records);
    cursor = next.nextCursor;
  }
  return { first, records };
}

/** Delivery IDs of the messages the simulator accepted, oldest first. */
async function outbox(): Promise<string[]> {
  const res = await fetch(`${system.simulatorUrl}/v1/messages?limit=10000`, {
    headers: { authorization: `Bearer ${system.simulatorApiKey}` },
  });
  if (!res.ok) throw new Error(`outbox: ${res.status}`);
  const body = (await res.json()) as { messages: { metadata: { deliveryId: string } }[] };
  return body.messages.map((m) => m.metadata.deliveryId);
}

function unary<Req, Res>(
  method: (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  req: Req,
  token: string,
): Promise<Res> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    method.call(grpc, req, md, (e: ServiceError | null, r: Res) => (e ? reject(e) : resolve(r)));
  });
}

const cancel = (communicationId: string, token: string, reason = 'wrong area selected') =>
  unary<CancelCommunicationRequest, CancelCommunicationResponse>(
    grpc.cancelCommunication.bind(grpc),
    CancelCommunicationRequest.fromPartial({ communicationId, reason }),
    token,
  );

beforeAll(async () => {
  system = await startE2eSystem('cancel', {
    extraEnv: { dispatch: { SIMULATOR_RATE_PER_SECOND: String(RATE) } },
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  grpc = new CommunicationServiceClient(system.communicationGrpc, credentials.createInsecure());
}, 120_000);

afterAll(async () => {
  api?.close();
  grpc?.close();
  if (system) await system.stop();
});

describe('cancel a send in progress', () => {
  it('stops the provider calls within a second; the rest is Not Sent cancelled; audited', async () => {
    const created = await api.create({
      title: 'Evacuation (wrong area)',
      emailSubject: 'Evacuate now',
      emailBody: 'Leave the area.',
      smsText: '',
      channels: [Channel.CHANNEL_EMAIL],
      acknowledgementRequested: false,
      responseOptions: [],
    });
    const id = created.communication!.id;
    for (let i = 0; i < RECIPIENTS; i += 1_000) {
      await api.addRecipients({
        communicationId: id,
        recipients: Array.from({ length: 1_000 }, (_, j) => ({
          externalId: `r${i + j}`,
          name: `Recipient ${i + j}`,
          email: `delivered.r${i + j}@example.org`,
          phone: '',
        })),
      });
    }

    // A viewer cannot cancel; a draft cannot be cancelled (nothing was sent).
    await expect(cancel(id, system.viewerToken)).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    await expect(cancel(id, system.senderToken)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });

    await api.send({ communicationId: id });
    await eventually(async () => expect((await outbox()).length).toBeGreaterThanOrEqual(200), 30_000, 100);

    const first = await cancel(id, system.senderToken);
    const cancelledAt = Date.now();
    expect(first.alreadyCancelled).toBe(false);
    expect(first.communication?.cancellation).toMatchObject({ reason: 'wrong area selected' });

    // The outbox for 3 s after the cancel returned: it stops growing within 1 s.
    const samples: { at: number; count: number }[] = [];
    while (Date.now() - cancelledAt < 3_000) {
      samples.push({ at: Date.now() - cancelledAt, count: (await outbox()).length });
      await new Promise((r) => setTimeout(r, 100));
    }
    const final = samples.at(-1)!.count;
    const late = samples.filter((s) => s.at >= 1_000);
    expect(late.length).toBeGreaterThan(0);
    expect(
      late.every((s) => s.count === final),
      `outbox after the cancel: ${JSON.stringify(samples)}`,
    ).toBe(true);
    expect(final, 'the cancel came midway').toBeLessThan(RECIPIENTS);

    // Cancelling twice changes nothing.
    const second = await cancel(id, system.senderToken, 'again');
    expect(second.alreadyCancelled).toBe(true);
    expect(second.communication?.cancellation?.reason).toBe('wrong area selected');

    // Every record settles: Delivered (the simulator got it) or Not Sent cancelled (it never did).
    const sentIds = await outbox();
    expect(new Set(sentIds).size, 'no message sent twice').toBe(sentIds.length);
    const settled = await eventually(
      async () => {
        const r = await allRecords(id);
        expect(r.first.counts.pending ?? 0, 'nothing left Pending').toBe(0);
        expect(r.first.counts.sent ?? 0, 'every Sent delivered').toBe(0);
        return r;
      },
      180_000,
      1_000,
    );
    const sent = new Set(sentIds);
    expect(settled.records).toHaveLength(RECIPIENTS);
    for (const r of settled.records) {
      if (sent.has(r.id)) expect(r.status, r.id).toBe('delivered');
      else
        expect({ status: r.status, reasonCode: r.reasonCode }, r.id).toEqual({
          status: 'not_sent',
          reasonCode: 'cancelled',
        });
    }
    // The report's counts equal a recount of its records.
    const recount: Record<string, number> = {};
    for (const r of settled.records) recount[r.status] = (recount[r.status] ?? 0) + 1;
    const counts = Object.fromEntries(Object.entries(settled.first.counts).filter(([, n]) => n > 0));
    expect(counts).toEqual(recount);
    expect(recount).toEqual({ delivered: sent.size, not_sent: RECIPIENTS - sent.size });

    // The audit log names the caller: over gRPC (admin) …
    const log = await unary<ListAuditLogRequest, ListAuditLogResponse>(
      grpc.listAuditLog.bind(grpc),
      ListAuditLogRequest.fromPartial({ kind: AuditKind.AUDIT_KIND_CANCEL, communicationId: id }),
      system.operatorToken,
    );
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]).toMatchObject({ kind: AuditKind.AUDIT_KIND_CANCEL, reason: 'wrong area selected' });
    const actor = log.entries[0]!.actor;
    expect(actor).toMatch(/^token:/);
    // … not to a sender …
    await expect(
      unary(grpc.listAuditLog.bind(grpc), ListAuditLogRequest.fromPartial({}), system.senderToken),
    ).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    // … and on the console's page.
    const res = await fetch(`${system.httpUrls.communication}/console/audit?communication=${id}`, {
      headers: { authorization: `Bearer ${system.operatorToken}` },
    });
    expect(res.status).toBe(200);
    const pageHtml = await res.text();
    expect(pageHtml).toContain('wrong area selected');
    expect(pageHtml).toContain(actor);
    expect(pageHtml).toContain('Cancel');
  }, 300_000);
});
