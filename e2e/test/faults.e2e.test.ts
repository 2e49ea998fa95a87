// Fault suite (issue 14), the cases proven so far, through separate processes on real NATS and the
// real store, each checked against a ground truth:
// - provider-callback SIGKILLed while it archives and publishes a stream of callbacks, restarted:
//   every callback it answered 2xx reaches the report; those refused while it was down converge
//   after a provider-style retry; counts equal a recount; nothing dead-lettered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  CreateCommunicationRequest,
  RecipientInput,
  streamNames,
  subjects,
  signSimulatorCallback,
} from '@dlr/contracts';
import { connectNats, createLogger } from '@dlr/platform';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

let system: RunningSystem;
let api: CommunicationApi;

interface ListView {
  total: number;
  counts: Record<string, number>;
  records: { id: string; status: string }[];
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

/** Status of every record, and the report's counts. */
async function report(
  communicationId: string,
): Promise<{ counts: Record<string, number>; status: Map<string, string> }> {
  const first = await page(communicationId);
  const records = [...first.records];
  for (let cursor = first.nextCursor; cursor;) {
    const next = await page(communicationId, cursor);
    records.push(...next.records);
    cursor = next.nextCursor;
  }
  return { counts: first.counts, status: new Map(records.map((r) => [r.id, r.status])) };
}

/** Posts a signed simulator callback; its HTTP status, 0 when nothing answered. */
async function post(body: string): Promise<number> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(`${system.providerCallbackUrl}/v1/callbacks/simulator`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-simulator-timestamp': String(timestamp),
        'x-simulator-signature': signSimulatorCallback(system.webhookSecret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  system = await startE2eSystem('faults', { logLevel: 'warn' });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 180_000);

afterAll(async () => {
  api?.close();
  await system?.stop();
});

describe('faults', () => {
  it('loses no acknowledged callback when provider-callback is SIGKILLed mid-flow and restarted', async () => {
    const n = 400;
    const { communication } = await api.create(
      CreateCommunicationRequest.fromPartial({
        title: 'Fault drill',
        channels: [Channel.CHANNEL_EMAIL],
        emailSubject: 'Fault drill',
        emailBody: 'This is a drill.',
      }),
    );
    const communicationId = communication!.id;
    const { deliveries } = await api.addRecipients({
      communicationId,
      recipients: Array.from({ length: n }, (_, i) => RecipientInput.fromPartial({ email: `fault${i}@example.org` })),
    });
    const ids = deliveries.map((d) => d.deliveryId);
    expect(ids).toHaveLength(n);
    // Ground truth: every record gets one Delivered callback.
    const bodies = ids.map((deliveryId, i) =>
      JSON.stringify({
        eventId: `sev_fault_${i}`,
        messageId: `sim_fault_${i}`,
        type: 'delivered',
        occurredAt: new Date(Date.UTC(2026, 11, 2, 10, 0, i % 60)).toISOString(),
        metadata: { deliveryId, communicationId, attempt: 1 },
      }),
    );

    const refused: string[] = [];
    let acknowledged = 0;
    let killedAt = -1;
    for (let i = 0; i < bodies.length; i += 10) {
      if (killedAt < 0 && i >= n / 3) {
        // Mid-flow: its consumer holds committed callbacks it has not archived or published yet.
        expect(await system.kill('provider-callback', 'SIGKILL')).toBeNull();
        killedAt = i;
      }
      if (killedAt >= 0 && i === killedAt + 50) await system.restart('provider-callback');
      const batch = bodies.slice(i, i + 10);
      const statuses = await Promise.all(batch.map(post));
      statuses.forEach((status, k) => {
        if (status >= 200 && status < 300) acknowledged++;
        else refused.push(batch[k]!);
      });
    }
    expect(refused.length, 'posts refused while provider-callback was down').toBeGreaterThan(0);
    // A provider retries what was not acknowledged.
    for (const body of refused) expect(await post(body)).toBeLessThan(300);
    expect(acknowledged + refused.length).toBe(n);

    await eventually(async () => expect((await page(communicationId)).counts.delivered).toBe(n), 240_000, 2_000);
    const { counts, status } = await report(communicationId);
    expect(ids.filter((d) => status.get(d) !== 'delivered')).toEqual([]);
    // The counts equal a recount of the records.
    const recount: Record<string, number> = {};
    for (const s of status.values()) recount[s] = (recount[s] ?? 0) + 1;
    for (const [s, c] of Object.entries(recount)) expect(counts[s], s).toBe(c);

    const nats = await connectNats({
      servers: process.env.NATS_URL!,
      name: 'faults',
      logger: createLogger('t', 'silent'),
    });
    try {
      const dead = await nats.jsm.streams.info(streamNames(system.namespace).deadLetter, {
        subjects_filter: subjects(system.namespace).deadLetter('>'),
      });
      expect(dead.state.messages, 'dead letters').toBe(0);
    } finally {
      await nats.drain();
    }
  }, 600_000);
});
