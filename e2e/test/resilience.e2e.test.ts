// Crashes and replays, end to end through separate processes:
// - dispatch is SIGKILLed in the middle of a 5 000-recipient send and restarted: every record ends
//   with exactly one accepted attempt, and the provider received every message exactly once;
// - the same 1 000 signed provider callbacks posted three times, shuffled, give the statuses and
//   counts of one clean pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  CreateCommunicationRequest,
  RecipientInput,
  SendCommunicationRequest,
  signSimulatorCallback,
} from '@dlr/contracts';
import { connectMongo, createLogger } from '@dlr/platform';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

let system: RunningSystem;
let api: CommunicationApi;

interface ListView {
  total: number;
  counts: Record<string, number>;
  records: { id: string; status: string; attempt: number }[];
  nextCursor: string | null;
}

const operator = () => ({ authorization: `Bearer ${system.operatorToken}` });

async function page(communicationId: string, cursor?: string, limit = 1_000): Promise<ListView> {
  const query = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
  const res = await fetch(`${system.reportingUrl}/api/v1/communications/${communicationId}/delivery-records?${query}`, {
    headers: operator(),
  });
  if (!res.ok) throw new Error(`delivery records: ${res.status}`);
  return (await res.json()) as ListView;
}

/** Every record of a communication (id → status) and its counts. */
async function report(communicationId: string): Promise<{ counts: Record<string, number>; statuses: string[] }> {
  const first = await page(communicationId);
  const records = [...first.records];
  for (let cursor = first.nextCursor; cursor;) {
    const next = await page(communicationId, cursor);
    records.push(...next.records);
    cursor = next.nextCursor;
  }
  return { counts: first.counts, statuses: records.map((r) => `${r.id}:${r.status}:${r.attempt}`) };
}

async function createEmail(title: string, emails: string[], send: boolean): Promise<{ id: string; ids: string[] }> {
  const { communication } = await api.create(
    CreateCommunicationRequest.fromPartial({
      title,
      channels: [Channel.CHANNEL_EMAIL],
      emailSubject: title,
      emailBody: 'This is a drill.',
    }),
  );
  const id = communication!.id;
  const ids: string[] = [];
  for (let from = 0; from < emails.length; from += 1_000) {
    const batch = emails.slice(from, from + 1_000).map((email) => RecipientInput.fromPartial({ email }));
    const { deliveries } = await api.addRecipients({ communicationId: id, recipients: batch });
    for (const d of deliveries) ids[from + d.recipientIndex] = d.deliveryId;
  }
  if (send) await api.send(SendCommunicationRequest.fromPartial({ communicationId: id }));
  return { id, ids };
}

/** Messages the provider (simulator) accepted, by delivery ID. */
async function outbox(): Promise<Map<string, number>> {
  const res = await fetch(`${system.simulatorUrl}/v1/messages?limit=10000`, {
    headers: { authorization: `Bearer ${system.simulatorApiKey}` },
  });
  if (!res.ok) throw new Error(`outbox: ${res.status}`);
  const { messages } = (await res.json()) as { messages: { metadata: { deliveryId: string } }[] };
  const by = new Map<string, number>();
  for (const m of messages) by.set(m.metadata.deliveryId, (by.get(m.metadata.deliveryId) ?? 0) + 1);
  return by;
}

/**
 * The test's store, and whether it finds a document by `_id` through its `_id` index. MongoDB and
 * FerretDB v2 do; a stock FerretDB v1 scans the whole collection instead, which the harness's own
 * FerretDB v1 build fixes (patchFerretIdLookups in @dlr/testing's infra/ferretdb-patch.ts).
 */
async function storeOf(uri: string): Promise<{ name: string; idIndexed: boolean }> {
  const mongo = await connectMongo({
    uri,
    dbName: 'probe_id_index',
    logger: createLogger('test', 'silent'),
    appName: 'probe',
  });
  try {
    if (mongo.store.indexedQueries) return { name: mongo.store.name, idIndexed: true };
    const probe = mongo.db.collection<{ _id: string; state: string }>('probe');
    await probe.updateOne({ _id: 'p' }, { $set: { state: 'x' } }, { upsert: true });
    const plan = JSON.stringify(await probe.find({ _id: 'p', state: 'x' }).explain());
    return { name: mongo.store.name, idIndexed: plan.includes('USING INDEX') };
  } finally {
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
}

beforeAll(async () => {
  system = await startE2eSystem('resilience', { simulatorDelayMs: 500, logLevel: 'warn' });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 180_000);

afterAll(async () => {
  api?.close();
  if (system) {
    const codes = await system.stop();
    expect(Object.values(codes).every((c) => c === 0)).toBe(true);
  }
});

describe('resilience', () => {
  it(`sends every message exactly once when dispatch is SIGKILLed mid-send and restarted`, async () => {
    // 5 000, as the issue asks, on any store that finds documents by `_id` through its index (about
    // 2.5 min here on the harness's FerretDB v1, 80 s on FerretDB v2). A stock FerretDB v1 scans
    // the collection for each of them: 5 000 would take about an hour there, so it runs 1 000 and
    // says so. DLR_KILL_TEST_RECIPIENTS sets it either way.
    const store = await storeOf(process.env.MONGODB_URI!);
    const n = Number(process.env.DLR_KILL_TEST_RECIPIENTS ?? (store.idIndexed ? 5_000 : 1_000));
    process.stderr.write(
      `[resilience] kill drill: ${n} recipients on ${store.name}` +
        (store.idIndexed
          ? '\n'
          : ' (its _id lookups scan the collection; the harness builds a FerretDB v1 that uses its index)\n'),
    );
    const emails = Array.from({ length: n }, (_, i) => `delivered-kill${i}@example.org`);
    const { id, ids } = await createEmail('Kill drill', emails, true);
    // Kill it once the provider has some of the messages, well before all of them.
    await eventually(async () => expect((await outbox()).size).toBeGreaterThanOrEqual(Math.floor(n / 5)), 300_000, 250);
    expect(await system.kill('dispatch', 'SIGKILL')).toBeNull();
    const atKill = (await outbox()).size;
    expect(atKill).toBeLessThan(n);
    await system.restart('dispatch');

    // Counts only (one page of one row), every 2 s: a whole 5 000-row report is a heavy read.
    await eventually(
      async () => {
        const { counts } = await page(id, undefined, 1);
        expect(counts.delivered).toBe(n);
      },
      1_500_000,
      2_000,
    );
    const sent = await outbox();
    expect(ids.filter((d) => sent.get(d) !== 1)).toEqual([]);

    // dispatch's own record: one attempt per delivery, accepted by the provider.
    const mongo = await connectMongo({
      uri: process.env.MONGODB_URI!,
      dbName: `${system.namespace.replaceAll('-', '_')}_dispatch`,
      logger: createLogger('test', 'silent'),
      appName: 'resilience-test',
    });
    try {
      const attempts = await mongo.db
        .collection<{ _id: string; deliveryId: string; state: string }>('attempts')
        .find({}, { projection: { deliveryId: 1, state: 1 } })
        .toArray();
      const wanted = new Set(ids);
      const mine = attempts.filter((a) => wanted.has(a.deliveryId));
      expect(mine).toHaveLength(n);
      expect(mine.filter((a) => a.state !== 'sent')).toEqual([]);
    } finally {
      await mongo.close();
    }
  }, 1_800_000);

  it('gives the statuses and counts of one clean pass when 1 000 callbacks are posted three times, shuffled', async () => {
    const records = 500;
    const clean = await createEmail(
      'Clean pass',
      Array.from({ length: records }, (_, i) => `c${i}@example.org`),
      false,
    );
    const replay = await createEmail(
      'Replay',
      Array.from({ length: records }, (_, i) => `r${i}@example.org`),
      false,
    );
    const types = ['delivered', 'bounce', 'failed'] as const;
    // Two events per record (1 000 callbacks), the same story for record i of both communications.
    const callbacks = (communicationId: string, ids: string[], tag: string) =>
      ids.flatMap((deliveryId, i) =>
        [0, 1].map((k) =>
          JSON.stringify({
            eventId: `sev_${tag}_${i}_${k}`,
            messageId: `sim_${tag}_${i}`,
            type: types[(i + k * (i % 3)) % 3],
            occurredAt: new Date(Date.UTC(2026, 10, 27, 10, 0, i % 60, k)).toISOString(),
            metadata: { deliveryId, communicationId, attempt: 1 },
          }),
        ),
      );
    const post = async (body: string) => {
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await fetch(`${system.providerCallbackUrl}/v1/callbacks/simulator`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-simulator-timestamp': String(timestamp),
          'x-simulator-signature': signSimulatorCallback(system.webhookSecret, timestamp, body),
        },
        body,
      });
      expect(res.status).toBeLessThan(300);
    };
    const postAll = async (bodies: string[]) => {
      for (let i = 0; i < bodies.length; i += 16) await Promise.all(bodies.slice(i, i + 16).map(post));
    };
    const once = callbacks(clean.id, clean.ids, 'clean');
    expect(once).toHaveLength(1_000);
    await postAll(once);
    const replayed = callbacks(replay.id, replay.ids, 'replay');
    await postAll([...replayed, ...replayed, ...replayed].sort(() => Math.random() - 0.5));

    const settled = async (communicationId: string) =>
      eventually(
        async () => expect((await page(communicationId, undefined, 1)).counts.pending).toBe(0),
        300_000,
        1_000,
      );
    await settled(clean.id);
    await settled(replay.id);
    // Same counts and, record by record (i-th of each), the same status.
    await eventually(
      async () => {
        const [x, y] = [await report(clean.id), await report(replay.id)];
        expect(y.counts).toEqual(x.counts);
        const byIndex = (r: typeof x, ids: string[]) => {
          const status = new Map(r.statuses.map((s) => [s.split(':')[0], s.split(':').slice(1).join(':')]));
          return ids.map((d) => status.get(d));
        };
        expect(byIndex(y, replay.ids)).toEqual(byIndex(x, clean.ids));
      },
      120_000,
      2_000,
    );
  }, 900_000);
});
