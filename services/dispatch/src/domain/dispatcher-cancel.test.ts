// A cancelled communication: nothing more of it is handed to a provider, whether the cancel came
// before the batch (read at its start) or during it (seen before each call, and after a rate-limit wait).
import { SendRequested, Channel } from '@dlr/contracts';
import { createLogger } from '@dlr/platform';
import { describe, expect, it } from 'vitest';
import { isFinished, type AttemptDoc, type AttemptResult, type FinishedAttempt } from './attempt.js';
import { CANCELLED_TEXT, Dispatcher, type CancellationList } from './dispatcher.js';
import type { AttemptStore } from './ports.js';
import { CallNotStartedError, type OutboundMessage, type Provider, type SendOptions } from './provider.js';

class MemoryStore implements AttemptStore {
  readonly docs = new Map<string, AttemptDoc>();
  async insert(doc: AttemptDoc) {
    if (this.docs.has(doc._id)) return false;
    this.docs.set(doc._id, { ...doc });
    return true;
  }
  async insertMany(docs: readonly AttemptDoc[]) {
    return Promise.all(docs.map((d) => this.insert(d)));
  }
  async get(id: string) {
    return this.docs.get(id) ?? null;
  }
  async finishMany(items: readonly { doc: AttemptDoc; result: AttemptResult }[], at: Date) {
    return Promise.all(items.map(({ doc, result }) => this.finish(doc, result, at)));
  }
  async finish(doc: AttemptDoc, result: AttemptResult, finishedAt: Date): Promise<FinishedAttempt> {
    const stored = this.docs.get(doc._id);
    if (stored?.state === 'sending') this.docs.set(doc._id, { ...stored, ...result, finishedAt });
    const now = this.docs.get(doc._id)!;
    if (!isFinished(now)) throw new Error('not finished');
    return now;
  }
  async release(id: string) {
    this.docs.delete(id);
  }
}

/** Cancellations as the KV adapter keeps them: `stored` is the bucket, `known` what a refresh or watch saw. */
class Cancellations implements CancellationList {
  readonly stored = new Set<string>();
  readonly known = new Set<string>();
  refreshes = 0;
  async refresh(ids: readonly string[]) {
    this.refreshes++;
    for (const id of ids) if (this.stored.has(id)) this.known.add(id);
  }
  isCancelled(id: string) {
    return this.known.has(id);
  }
  /** A cancel the watch delivered. */
  cancel(id: string) {
    this.stored.add(id);
    this.known.add(id);
  }
}

/** A provider that calls `onCall` before answering; `waitFirst` stands for a rate-limit wait. */
class Recorder implements Provider {
  readonly name = 'fake';
  readonly calls: OutboundMessage[] = [];
  constructor(
    private readonly onCall: (n: number) => void = () => undefined,
    private readonly waitFirst?: () => void,
  ) {}
  async send(message: OutboundMessage, options?: SendOptions) {
    this.waitFirst?.();
    if (options?.stillWanted?.() === false) throw new CallNotStartedError('no longer wanted');
    this.calls.push(message);
    this.onCall(this.calls.length);
    return { providerMessageId: `p${this.calls.length}` };
  }
}

function setup(provider: Provider, cancellations: Cancellations) {
  const attempts = new MemoryStore();
  const published: { deliveryId: string; reasonCode: string; status: number }[] = [];
  const dispatcher = new Dispatcher({
    attempts,
    events: { publish: async (e) => void published.push(e) },
    providers: { email: provider, sms: provider },
    cancellations,
    retry: { maxRetries: 1, callTimeoutMs: 1_000, delayMs: () => 1, budgetMs: 45_000, staleAfterMs: 50_000 },
    providerConcurrency: 1,
    logger: createLogger('dispatch-test', 'silent'),
    sleep: async () => undefined,
    signal: new AbortController().signal,
  });
  return { attempts, published, dispatcher };
}

const requests = (communicationId: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    SendRequested.fromPartial({
      communicationId,
      deliveryId: `d${i}`,
      attempt: 1,
      channel: Channel.CHANNEL_EMAIL,
      recipientName: 'R',
      address: `r${i}@example.org`,
      content: { emailSubject: 's', emailBody: 'b' },
    }),
  );

describe('cancelled communications', () => {
  it('a cancel committed before the batch: nothing is called, every message is Not Sent cancelled', async () => {
    const c = new Cancellations();
    c.stored.add('c1'); // in the bucket, not yet seen by the watch: the batch's read finds it
    const provider = new Recorder();
    const { attempts, published, dispatcher } = setup(provider, c);
    const outcomes = await dispatcher.handleBatch([
      ...requests('c1', 3),
      ...requests('c2', 1).map((r) => ({ ...r, deliveryId: 'x' })),
    ]);
    expect(outcomes.every((o) => o.kind === 'done')).toBe(true);
    expect(provider.calls.map((m) => m.deliveryId)).toEqual(['x']);
    expect(published.filter((e) => e.reasonCode === 'cancelled').map((e) => e.deliveryId)).toEqual(['d0', 'd1', 'd2']);
    expect(attempts.docs.get('d0:1')).toMatchObject({
      state: 'not_sent',
      reasonCode: 'cancelled',
      reasonText: CANCELLED_TEXT,
    });
  });

  it('a cancel during the batch stops its remaining calls; the sent keep their result', async () => {
    const c = new Cancellations();
    const provider = new Recorder((n) => n === 2 && c.cancel('c1'));
    const { published, dispatcher } = setup(provider, c);
    await dispatcher.handleBatch(requests('c1', 5));
    expect(provider.calls).toHaveLength(2);
    const byId = new Map(published.map((e) => [e.deliveryId, e.reasonCode]));
    expect([...byId.values()].filter((r) => r === '')).toHaveLength(2);
    expect([...byId.values()].filter((r) => r === 'cancelled')).toHaveLength(3);
  });

  it('a cancel while a call waited for a rate-limit token: that call is not made', async () => {
    const c = new Cancellations();
    const provider = new Recorder(undefined, () => c.cancel('c1'));
    const { published, dispatcher } = setup(provider, c);
    await dispatcher.handleBatch(requests('c1', 1));
    expect(provider.calls).toHaveLength(0);
    expect(published.map((e) => e.reasonCode)).toEqual(['cancelled']);
  });
});
