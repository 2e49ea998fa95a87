// Two replicas of dispatch and of reporting against the same NATS and store: no message is sent
// twice, the counts are right on both reporting replicas, and when one reporting replica stops, the
// other takes over its partitions and goes on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CreateCommunicationRequest, RecipientInput, SendCommunicationRequest } from '@dlr/contracts';
import {
  communicationClient,
  eventually,
  type CommunicationApi,
  type ReplicaProcess,
  type RunningSystem,
} from '@dlr/testing';
import { startE2eSystem } from './system.js';

let system: RunningSystem;
let api: CommunicationApi;
let dispatch2: ReplicaProcess;
let reporting2: ReplicaProcess;

interface ListView {
  total: number;
  counts: Record<string, number>;
}

const operator = () => ({ authorization: `Bearer ${system.operatorToken}` });

async function counts(reportingUrl: string, communicationId: string): Promise<ListView> {
  const res = await fetch(`${reportingUrl}/api/v1/communications/${communicationId}/delivery-records?limit=1`, {
    headers: operator(),
  });
  if (!res.ok) throw new Error(`counts: ${res.status}`);
  return (await res.json()) as ListView;
}

/** Messages the provider (simulator) accepted, by delivery ID. */
async function sentByDelivery(): Promise<Map<string, number>> {
  const res = await fetch(`${system.simulatorUrl}/v1/messages?limit=10000`, {
    headers: { authorization: `Bearer ${system.simulatorApiKey}` },
  });
  if (!res.ok) throw new Error(`outbox: ${res.status}`);
  const { messages } = (await res.json()) as { messages: { metadata: { deliveryId: string } }[] };
  const by = new Map<string, number>();
  for (const m of messages) by.set(m.metadata.deliveryId, (by.get(m.metadata.deliveryId) ?? 0) + 1);
  return by;
}

/** Send requests a dispatch process consumed, from its Prometheus metrics. */
async function consumedSends(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('dlr_events_consumed_total{') && l.includes('consumer="dispatch-send"'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

/**
 * Creates and sends an email communication: `delivered` recipients then `failed` ones (simulator
 * magic). Each run has its own addresses: a permanent failure suppresses an address for later runs.
 */
async function send(run: string, delivered: number, failed: number): Promise<{ id: string; deliveryIds: string[] }> {
  const { communication } = await api.create(
    CreateCommunicationRequest.fromPartial({
      title: 'Scale-out drill',
      channels: [Channel.CHANNEL_EMAIL],
      emailSubject: 'Drill',
      emailBody: 'This is a drill.',
    }),
  );
  const id = communication!.id;
  const recipients = [
    ...Array.from({ length: delivered }, (_, i) =>
      RecipientInput.fromPartial({ email: `delivered-${run}${i}@example.org` }),
    ),
    ...Array.from({ length: failed }, (_, i) => RecipientInput.fromPartial({ email: `failed-${run}${i}@example.org` })),
  ];
  const { deliveries } = await api.addRecipients({ communicationId: id, recipients });
  await api.send(SendCommunicationRequest.fromPartial({ communicationId: id }));
  return { id, deliveryIds: deliveries.map((d) => d.deliveryId) };
}

beforeAll(async () => {
  system = await startE2eSystem('scale', {
    simulatorDelayMs: 200,
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  dispatch2 = await system.startReplica('dispatch');
  reporting2 = await system.startReplica('reporting');
}, 180_000);

afterAll(async () => {
  api?.close();
  if (system) {
    const codes = await system.stop();
    expect(Object.values(codes).every((c) => c === 0)).toBe(true);
  }
});

describe('two replicas of dispatch and of reporting', () => {
  it('send every message once and count every record right', async () => {
    const { id, deliveryIds } = await send('a', 150, 50);
    const expected = { delivered: 150, failed: 50 };
    for (const url of [system.reportingUrl, reporting2.httpUrl]) {
      await eventually(async () => {
        const view = await counts(url, id);
        expect(view.total).toBe(200);
        expect(view.counts).toMatchObject({ ...expected, pending: 0, sent: 0 });
      }, 240_000);
    }
    const sent = await sentByDelivery();
    expect(deliveryIds.map((d) => sent.get(d) ?? 0)).toEqual(deliveryIds.map(() => 1));
    // Both dispatch replicas took a share of the work.
    expect(await consumedSends(system.adminUrls.dispatch)).toBeGreaterThan(0);
    expect(await consumedSends(dispatch2.adminUrl)).toBeGreaterThan(0);
  }, 300_000);

  it('keep projecting on the other reporting replica when one stops', async () => {
    expect(await system.kill('reporting', 'SIGTERM')).toBe(0);
    const { id, deliveryIds } = await send('b', 40, 10);
    await eventually(async () => {
      const view = await counts(reporting2.httpUrl, id);
      expect(view.total).toBe(50);
      expect(view.counts).toMatchObject({ delivered: 40, failed: 10, pending: 0, sent: 0 });
    }, 240_000);
    const sent = await sentByDelivery();
    expect(deliveryIds.map((d) => sent.get(d) ?? 0)).toEqual(deliveryIds.map(() => 1));
    await system.restart('reporting');
  }, 300_000);
});
