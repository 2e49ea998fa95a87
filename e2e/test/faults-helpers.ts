// What the fault suite's files (faults-*.e2e.test.ts) share: signed callbacks and answers posted the
// way providers and recipients do (with latencies), the report read page by page, the provider's
// outbox, the dead-letter stream, and the end-of-case checks against a ground truth.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import {
  Channel,
  CreateCommunicationRequest,
  RecipientInput,
  SendCommunicationRequest,
  signSimulatorCallback,
} from '@dlr/contracts';
import { parseLinkKeys, signLink, type LinkAction } from '@dlr/links';
import { connectNats, createLogger, listDeadLetters, type DeadLetter } from '@dlr/platform';
import { eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';

export interface ListView {
  total: number;
  counts: Record<string, number>;
  records: { id: string; status: string; attempt: number }[];
  nextCursor: string | null;
}

/** One page of a communication's Delivery Report (limit 1 for the counts alone: a cheap poll). */
export async function page(
  system: RunningSystem,
  communicationId: string,
  cursor?: string,
  limit = 1_000,
): Promise<ListView> {
  const query = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
  const res = await fetch(`${system.reportingUrl}/api/v1/communications/${communicationId}/delivery-records?${query}`, {
    headers: { authorization: `Bearer ${system.operatorToken}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`delivery records: ${res.status}`);
  return (await res.json()) as ListView;
}

/** Status of every record, and the report's counts. */
export async function report(
  system: RunningSystem,
  communicationId: string,
): Promise<{ counts: Record<string, number>; status: Map<string, string> }> {
  const first = await page(system, communicationId);
  const records = [...first.records];
  for (let cursor = first.nextCursor; cursor;) {
    const next = await page(system, communicationId, cursor);
    records.push(...next.records);
    cursor = next.nextCursor;
  }
  return { counts: first.counts, status: new Map(records.map((r) => [r.id, r.status])) };
}

/**
 * The end of every case: once the counts say so (polled cheaply), every record's status equals the
 * ground truth (delivery ID → status) and the counts equal a recount of the records.
 */
export async function expectReportEquals(
  system: RunningSystem,
  communicationId: string,
  truth: ReadonlyMap<string, string>,
  timeoutMs = 300_000,
): Promise<void> {
  const wanted: Record<string, number> = {};
  for (const s of truth.values()) wanted[s] = (wanted[s] ?? 0) + 1;
  await eventually(
    async () => {
      const { counts } = await page(system, communicationId, undefined, 1);
      for (const [s, c] of Object.entries(wanted)) expect(counts[s] ?? 0, `count of ${s}`).toBe(c);
    },
    timeoutMs,
    2_000,
  );
  const { counts, status } = await report(system, communicationId);
  expect(status.size).toBe(truth.size);
  const wrong = [...truth]
    .filter(([id, s]) => status.get(id) !== s)
    .map(([id, s]) => `${id}: ${status.get(id)} ≠ ${s}`);
  expect(wrong.slice(0, 20), `${wrong.length} record(s) off the ground truth`).toEqual([]);
  const recount: Record<string, number> = {};
  for (const s of status.values()) recount[s] = (recount[s] ?? 0) + 1;
  for (const [s, c] of Object.entries(counts)) expect(c, `count ${s} = recount`).toBe(recount[s] ?? 0);
}

/** Creates an email communication with these recipients; sends it when `send`. Delivery IDs in order. */
export async function createEmail(
  api: CommunicationApi,
  title: string,
  emails: readonly string[],
  options: { send?: boolean; responseOptions?: string[] } = {},
): Promise<{ id: string; ids: string[] }> {
  const { communication } = await api.create(
    CreateCommunicationRequest.fromPartial({
      title,
      channels: [Channel.CHANNEL_EMAIL],
      emailSubject: title,
      emailBody: 'This is a drill.',
      responseOptions: options.responseOptions ?? [],
    }),
  );
  const id = communication!.id;
  const ids: string[] = [];
  for (let from = 0; from < emails.length; from += 1_000) {
    const batch = emails.slice(from, from + 1_000).map((email) => RecipientInput.fromPartial({ email }));
    const { deliveries } = await api.addRecipients({ communicationId: id, recipients: batch });
    for (const d of deliveries) ids[from + d.recipientIndex] = d.deliveryId;
  }
  if (options.send) await api.send(SendCommunicationRequest.fromPartial({ communicationId: id }));
  return { id, ids };
}

/** A simulator callback body for record `deliveryId` (attempt 1), unique by `tag`. */
export function callbackBody(
  communicationId: string,
  deliveryId: string,
  tag: string,
  type: 'delivered' | 'bounce' | 'failed' = 'delivered',
): string {
  return JSON.stringify({
    eventId: `sev_${tag}`,
    messageId: `sim_${tag}`,
    type,
    occurredAt: new Date().toISOString(),
    metadata: { deliveryId, communicationId, attempt: 1 },
  });
}

/** An HTTP answer: its status (0 when nothing answered in time) and how long it took. */
export interface Answered {
  status: number;
  ms: number;
}

const ok = (status: number) => status >= 200 && status < 300;

/** Posts a signed simulator callback, as the simulator does. */
export async function postCallback(system: RunningSystem, body: string, timeoutMs = 15_000): Promise<Answered> {
  const timestamp = Math.floor(Date.now() / 1000);
  const started = performance.now();
  try {
    const res = await fetch(`${system.providerCallbackUrl}/v1/callbacks/simulator`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-simulator-timestamp': String(timestamp),
        'x-simulator-signature': signSimulatorCallback(system.webhookSecret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
}

/** A recipient's answer through a signed link (`ack`, or `respond` with option `option`). */
export async function postAnswer(
  system: RunningSystem,
  communicationId: string,
  deliveryId: string,
  action: Extract<LinkAction, 'ack' | 'respond'> = 'ack',
  option?: number,
): Promise<Answered & { body: string }> {
  const now = Math.floor(Date.now() / 1000);
  const token = signLink(
    { deliveryId, communicationId, channel: 'email', action, issuedAt: now - 600, expiresAt: now + 3_600 },
    parseLinkKeys(system.linkKeys),
  );
  const started = performance.now();
  try {
    const res = await fetch(`${system.feedbackUrl}/a/${token}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      },
      body: option === undefined ? '' : `option=${option}`,
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, ms: performance.now() - started, body: await res.text() };
  } catch {
    return { status: 0, ms: performance.now() - started, body: '' };
  }
}

/**
 * Posts `bodies` at `perSecond` (paced by the clock, not one after another), calling `at(i)` before
 * the i-th; resolves with every answer, in order.
 */
export async function postAtRate(
  system: RunningSystem,
  bodies: readonly string[],
  perSecond: number,
  at: (i: number) => void | Promise<void> = () => undefined,
): Promise<Answered[]> {
  const started = performance.now();
  const answers: Promise<Answered>[] = [];
  while (answers.length < bodies.length) {
    const due = Math.min(bodies.length, Math.floor(((performance.now() - started) * perSecond) / 1000) + 1);
    while (answers.length < due) {
      const i = answers.length;
      await at(i);
      answers.push(postCallback(system, bodies[i]!));
    }
    await sleep(5); // pacing
  }
  return Promise.all(answers);
}

/**
 * A provider's retry of what was not acknowledged: re-posts every body whose answer was not 2xx,
 * round after round, until each got a 2xx or `timeoutMs` passed (then fails).
 */
export async function retryUntilAcknowledged(
  system: RunningSystem,
  bodies: readonly string[],
  answers: readonly Answered[],
  timeoutMs = 120_000,
): Promise<number> {
  let refused = bodies.filter((_, i) => !ok(answers[i]!.status));
  const retried = refused.length;
  const deadline = Date.now() + timeoutMs;
  while (refused.length > 0) {
    if (Date.now() > deadline) throw new Error(`${refused.length} callback(s) still refused after ${timeoutMs} ms`);
    const next: string[] = [];
    for (let i = 0; i < refused.length; i += 50) {
      const batch = refused.slice(i, i + 50);
      const got = await Promise.all(batch.map((b) => postCallback(system, b)));
      got.forEach((a, k) => {
        if (!ok(a.status)) next.push(batch[k]!);
      });
    }
    if (next.length > 0) await sleep(1_000); // a provider's backoff
    refused = next;
  }
  return retried;
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Messages the provider (simulator) accepted, by delivery ID (the simulator lists 10 000 at most). */
export async function outbox(system: RunningSystem): Promise<Map<string, number>> {
  const res = await fetch(`${system.simulatorUrl}/v1/messages?limit=10000`, {
    headers: { authorization: `Bearer ${system.simulatorApiKey}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`outbox: ${res.status}`);
  const { messages } = (await res.json()) as { messages: { metadata: { deliveryId: string } }[] };
  if (messages.length >= 10_000) throw new Error('outbox: more than the simulator lists, the count would be partial');
  const by = new Map<string, number>();
  for (const m of messages) by.set(m.metadata.deliveryId, (by.get(m.metadata.deliveryId) ?? 0) + 1);
  return by;
}

/** Every one of `ids` is in the provider's outbox exactly once. */
export async function expectSentOnce(system: RunningSystem, ids: readonly string[]): Promise<void> {
  const sent = await outbox(system);
  const off = ids.filter((d) => sent.get(d) !== 1).map((d) => `${d}×${sent.get(d) ?? 0}`);
  expect(off.slice(0, 20), `${off.length} message(s) not sent exactly once`).toEqual([]);
}

/** The system's dead letters (of one consumer when given). */
export async function deadLetters(natsUrl: string, namespace: string, consumer?: string): Promise<DeadLetter[]> {
  const nats = await connectNats({
    servers: natsUrl,
    name: 'faults',
    logger: createLogger('t', 'silent'),
    attempts: 5,
  });
  try {
    const letters: DeadLetter[] = [];
    for await (const letter of listDeadLetters(nats, namespace, consumer)) letters.push(letter);
    return letters;
  } finally {
    await nats.drain();
  }
}

/** Nothing dead-lettered: fails with the consumers and reasons otherwise. */
export async function expectNoDeadLetters(natsUrl: string, namespace: string): Promise<void> {
  const letters = await deadLetters(natsUrl, namespace);
  expect(letters.map((d) => `${d.consumer}: ${d.reason}`)).toEqual([]);
}

export { ok as acknowledged };
