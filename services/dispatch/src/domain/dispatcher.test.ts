import { Channel, DeliveryEvent, DeliveryStatus, EventSource, SendRequested } from '@dlr/contracts';
import { createLogger } from '@dlr/platform';
import { describe, expect, it } from 'vitest';
import type { AttemptDoc, AttemptResult, FinishedAttempt } from './attempt.js';
import { attemptEvent, isFinished } from './attempt.js';
import {
  AttemptInFlightError,
  Dispatcher,
  DispatchStoppedError,
  InvalidSendRequestError,
  SEND_INTERRUPTED_TEXT,
  SendDeferredError,
  type RetryPolicy,
} from './dispatcher.js';
import type { AttemptStore, DeliveryEventPublisher } from './ports.js';
import {
  CallNotStartedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  type OutboundMessage,
  type Provider,
} from './provider.js';

/** In-memory store with the same conditional semantics as the MongoDB one. */
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
  async finishMany(items: readonly { doc: AttemptDoc; result: AttemptResult }[], finishedAt: Date) {
    return Promise.all(items.map(({ doc, result }) => this.finish(doc, result, finishedAt)));
  }
  async finish(doc: AttemptDoc, result: AttemptResult, finishedAt: Date): Promise<FinishedAttempt> {
    const stored = this.docs.get(doc._id);
    if (stored?.state === 'sending') this.docs.set(doc._id, { ...stored, ...result, finishedAt });
    const now = this.docs.get(doc._id);
    if (!now || !isFinished(now)) throw new Error('not finished');
    return now;
  }
  async release(id: string) {
    if (this.docs.get(id)?.state === 'sending') this.docs.delete(id);
  }
}

class Events implements DeliveryEventPublisher {
  readonly published: DeliveryEvent[] = [];
  async publish(event: DeliveryEvent) {
    this.published.push(event);
  }
}

/** A provider that answers from a script: one entry per call. */
class ScriptedProvider implements Provider {
  readonly name = 'fake';
  readonly calls: OutboundMessage[] = [];
  constructor(private readonly script: (() => string)[]) {}
  async send(message: OutboundMessage) {
    this.calls.push(message);
    const next = this.script.shift();
    if (!next) throw new Error('unexpected call');
    return { providerMessageId: next() };
  }
}

const unavailable = () => {
  throw new ProviderUnavailableError('http_503', 'the provider answered HTTP 503: busy');
};
const rejected = () => {
  throw new ProviderRejectedError('rejected', 'address on suppression list');
};

const policy: RetryPolicy = {
  maxRetries: 2,
  callTimeoutMs: 1_000,
  delayMs: () => 10,
  budgetMs: 45_000,
  staleAfterMs: 50_000,
};
const logger = createLogger('dispatch-test', 'silent');

function setup(script: (() => string)[], options: { signal?: AbortSignal; now?: Date; email?: Provider } = {}) {
  const attempts = new MemoryStore();
  const events = new Events();
  const provider = new ScriptedProvider(script);
  const sleeps: number[] = [];
  const dispatcher = new Dispatcher({
    attempts,
    events,
    providers: { email: options.email ?? provider, sms: provider },
    ackUrl: (d, c) => `https://f.example/a/${d}.${c}`,
    retry: policy,
    logger,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (signal.aborted) throw new Error('aborted');
    },
    signal: options.signal ?? new AbortController().signal,
    clock: () => options.now ?? new Date('2030-01-01T00:00:00Z'),
  });
  return { attempts, events, provider, sleeps, dispatcher };
}

function request(overrides: Partial<SendRequested> = {}): SendRequested {
  return SendRequested.fromPartial({
    communicationId: 'c_1',
    deliveryId: 'd_1',
    attempt: 1,
    channel: Channel.CHANNEL_SMS,
    address: '+61400239991',
    content: { smsText: 'Evacuate now.', acknowledgementRequested: true },
    ...overrides,
  });
}

describe('Dispatcher', () => {
  it('sends once and publishes Sent with the provider message ID', async () => {
    const t = setup([() => 'pm_1']);
    await t.dispatcher.handle(request());
    expect(t.provider.calls).toHaveLength(1);
    expect(t.provider.calls[0]).toMatchObject({
      channel: 'sms',
      body: 'Evacuate now. Ack: https://f.example/a/d_1.c_1',
    });
    expect(t.events.published).toHaveLength(1);
    expect(t.events.published[0]).toMatchObject({
      eventId: 'dispatch:d_1:1:sent',
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      source: EventSource.EVENT_SOURCE_DISPATCH,
      provider: 'fake',
      providerMessageId: 'pm_1',
      attempt: 1,
      channel: Channel.CHANNEL_SMS,
      communicationId: 'c_1',
    });
    expect(t.attempts.docs.get('d_1:1')).toMatchObject({ state: 'sent', providerMessageId: 'pm_1' });
  });

  it('re-publishes the same event for a repeat without calling the provider again', async () => {
    const t = setup([() => 'pm_1']);
    await t.dispatcher.handle(request());
    await t.dispatcher.handle(request());
    expect(t.provider.calls).toHaveLength(1);
    expect(t.events.published).toHaveLength(2);
    expect(DeliveryEvent.toJSON(t.events.published[1]!)).toEqual(DeliveryEvent.toJSON(t.events.published[0]!));
  });

  it('publishes Not Sent provider_rejected with the provider’s words', async () => {
    const t = setup([rejected]);
    await t.dispatcher.handle(request());
    expect(t.events.published[0]).toMatchObject({
      eventId: 'dispatch:d_1:1:not_sent',
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      reasonCode: 'provider_rejected',
      reasonText: 'address on suppression list',
      providerEventType: 'rejected',
    });
  });

  it('retries an unavailable provider and succeeds', async () => {
    const t = setup([unavailable, unavailable, () => 'pm_2']);
    await t.dispatcher.handle(request());
    expect(t.provider.calls).toHaveLength(3);
    expect(t.sleeps).toEqual([10, 10]);
    expect(t.events.published[0]).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      providerMessageId: 'pm_2',
    });
  });

  it('waits at least the provider’s Retry-After before the next call', async () => {
    const throttled = () => {
      throw new ProviderUnavailableError('http_429', 'slow down', { retryAfterMs: 3_000 });
    };
    const t = setup([throttled, () => 'pm_3']);
    await t.dispatcher.handle(request());
    expect(t.sleeps).toEqual([3_000]);
    expect(t.events.published[0]).toMatchObject({ providerMessageId: 'pm_3' });
  });

  it('sends each channel through its own provider and names it on the attempt before the call', async () => {
    const email = new ScriptedProvider([() => 'em_1']);
    const t = setup([], {
      email: {
        name: 'mail-co',
        send: async (message) => {
          // Recorded before the provider is called, so a crash here still names it.
          expect(t.attempts.docs.get(`${message.deliveryId}:1`)).toMatchObject({
            state: 'sending',
            provider: 'mail-co',
          });
          return email.send(message);
        },
      },
    });
    await t.dispatcher.handle(request({ channel: Channel.CHANNEL_EMAIL, address: 'a@example.org' }));
    expect(email.calls).toHaveLength(1);
    expect(t.provider.calls).toHaveLength(0);
    expect(t.events.published[0]).toMatchObject({ provider: 'mail-co', providerMessageId: 'em_1' });
  });

  it('gives up after maxRetries with Not Sent provider_unavailable', async () => {
    const t = setup([unavailable, unavailable, unavailable]);
    await t.dispatcher.handle(request());
    expect(t.provider.calls).toHaveLength(3);
    expect(t.events.published[0]).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      reasonCode: 'provider_unavailable',
    });
  });

  it('closes a stale sending attempt as send_interrupted without calling the provider', async () => {
    const now = new Date('2030-01-01T00:10:00Z');
    const t = setup([], { now });
    await t.attempts.insert({
      _id: 'd_1:1',
      deliveryId: 'd_1',
      communicationId: 'c_1',
      attempt: 1,
      channel: 'sms',
      state: 'sending',
      createdAt: new Date(now.getTime() - 600_000),
    });
    await t.dispatcher.handle(request());
    expect(t.provider.calls).toHaveLength(0);
    expect(t.events.published[0]).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      reasonCode: 'send_interrupted',
      reasonText: SEND_INTERRUPTED_TEXT,
    });
  });

  it('asks an idempotent provider again for a stale sending attempt (it recognises the repeat)', async () => {
    const now = new Date('2030-01-01T00:10:00Z');
    const idempotent = Object.assign(new ScriptedProvider([() => 'm-first']), { idempotent: true });
    const t = setup([], { now, email: idempotent });
    await t.attempts.insert({
      _id: 'd_1:1',
      deliveryId: 'd_1',
      communicationId: 'c_1',
      attempt: 1,
      channel: 'email',
      state: 'sending',
      createdAt: new Date(now.getTime() - 600_000),
      provider: 'fake',
    });
    await t.dispatcher.handle(request({ channel: Channel.CHANNEL_EMAIL, address: 'delivered@example.org' }));
    expect(idempotent.calls).toHaveLength(1);
    expect(idempotent.calls[0]).toMatchObject({ deliveryId: 'd_1', attempt: 1 });
    expect(t.events.published[0]).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      providerMessageId: 'm-first',
    });
  });

  it('asks for a retry while another handler may still be sending the same attempt', async () => {
    const now = new Date('2030-01-01T00:10:00Z');
    const t = setup([], { now });
    await t.attempts.insert({
      _id: 'd_1:1',
      deliveryId: 'd_1',
      communicationId: 'c_1',
      attempt: 1,
      channel: 'sms',
      state: 'sending',
      createdAt: new Date(now.getTime() - 1_000),
    });
    await expect(t.dispatcher.handle(request())).rejects.toBeInstanceOf(AttemptInFlightError);
    expect(t.provider.calls).toHaveLength(0);
    expect(t.events.published).toHaveLength(0);
  });

  it('releases the attempt when stopping between retries, so a redelivery can send it', async () => {
    const stop = new AbortController();
    const t = setup([unavailable], { signal: stop.signal });
    stop.abort();
    await expect(t.dispatcher.handle(request())).rejects.toBeInstanceOf(DispatchStoppedError);
    expect(t.attempts.docs.size).toBe(0);
  });

  it('records Not Sent invalid_address for an empty address without calling the provider', async () => {
    const t = setup([]);
    await t.dispatcher.handle(request({ address: ' ' }));
    expect(t.events.published[0]).toMatchObject({ reasonCode: 'invalid_address' });
  });

  it('refuses requests it can never process', async () => {
    const t = setup([]);
    await expect(t.dispatcher.handle(request({ channel: Channel.CHANNEL_UNSPECIFIED }))).rejects.toBeInstanceOf(
      InvalidSendRequestError,
    );
    await expect(t.dispatcher.handle(request({ attempt: 0 }))).rejects.toBeInstanceOf(InvalidSendRequestError);
    await expect(t.dispatcher.handle(request({ deliveryId: 'has space' }))).rejects.toBeInstanceOf(
      InvalidSendRequestError,
    );
    expect(t.attempts.docs.size).toBe(0);
  });
});

describe('attemptEvent', () => {
  it('uses the finish time for both event times', () => {
    const finishedAt = new Date('2030-01-01T00:00:05Z');
    const event = attemptEvent({
      _id: 'd_9:2',
      deliveryId: 'd_9',
      communicationId: 'c_9',
      attempt: 2,
      channel: 'email',
      state: 'not_sent',
      createdAt: new Date('2030-01-01T00:00:00Z'),
      finishedAt,
      provider: 'simulator',
      reasonCode: 'provider_unavailable',
      reasonText: 'down',
    });
    expect(event).toMatchObject({
      eventId: 'dispatch:d_9:2:not_sent',
      channel: Channel.CHANNEL_EMAIL,
      occurredAt: finishedAt,
      receivedAt: finishedAt,
    });
  });
});

describe('Dispatcher.handleBatch', () => {
  /** Counts the store's writes, to check a batch makes one of each. */
  class CountingStore extends MemoryStore {
    insertManyCalls = 0;
    finishManyCalls = 0;
    override async insertMany(docs: readonly AttemptDoc[]) {
      this.insertManyCalls++;
      return super.insertMany(docs);
    }
    override async finishMany(items: readonly { doc: AttemptDoc; result: AttemptResult }[], finishedAt: Date) {
      this.finishManyCalls++;
      return super.finishMany(items, finishedAt);
    }
  }

  function batchSetup(provider: Provider, options: { providerConcurrency?: number; clock?: () => Date } = {}) {
    const attempts = new CountingStore();
    const events = new Events();
    const dispatcher = new Dispatcher({
      attempts,
      events,
      providers: { email: provider, sms: provider },
      retry: policy,
      logger,
      sleep: async () => undefined,
      signal: new AbortController().signal,
      ...(options.providerConcurrency === undefined ? {} : { providerConcurrency: options.providerConcurrency }),
      clock: options.clock ?? (() => new Date('2030-01-01T00:00:00Z')),
    });
    return { attempts, events, dispatcher };
  }

  it('records the batch’s attempts in one write and its results in another, one outcome per request', async () => {
    let n = 0;
    const provider: Provider = { name: 'fake', send: async () => ({ providerMessageId: `pm_${++n}` }) };
    const t = batchSetup(provider);
    const requests = [
      request({ deliveryId: 'd_1' }),
      request({ deliveryId: 'd_2', address: '' }),
      request({ deliveryId: 'bad id' }),
      request({ deliveryId: 'd_3' }),
      request({ deliveryId: 'd_1' }),
    ];
    const outcomes = await t.dispatcher.handleBatch(requests);
    expect(outcomes.map((o) => o.kind)).toEqual(['done', 'done', 'invalid', 'done', 'done']);
    expect(t.attempts.insertManyCalls).toBe(1);
    expect(t.attempts.finishManyCalls).toBe(1);
    // The repeat of d_1 in the same batch is sent once.
    expect(n).toBe(2);
    expect(t.events.published.map((e) => `${e.deliveryId}:${e.reasonCode}`).sort()).toEqual([
      'd_1:',
      'd_2:invalid_address',
      'd_3:',
    ]);
  });

  it('calls the provider in parallel, never more than providerConcurrency at once', async () => {
    let inFlight = 0;
    let most = 0;
    const provider: Provider = {
      name: 'fake',
      send: async (message) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return { providerMessageId: `pm_${message.deliveryId}` };
      },
    };
    const t = batchSetup(provider, { providerConcurrency: 4 });
    const outcomes = await t.dispatcher.handleBatch(
      Array.from({ length: 20 }, (_, i) => request({ deliveryId: `d_${i}` })),
    );
    expect(outcomes.every((o) => o.kind === 'done')).toBe(true);
    expect(most).toBe(4);
    expect(t.events.published).toHaveLength(20);
  });

  it('releases, unsent, the attempts whose provider call could not start within the time budget', async () => {
    let now = new Date('2030-01-01T00:00:00Z').getTime();
    const provider: Provider = {
      name: 'fake',
      send: async (message) => {
        // Each call takes 30 s of the 45 s budget: the third cannot start in time.
        now += 30_000;
        return { providerMessageId: `pm_${message.deliveryId}` };
      },
    };
    const t = batchSetup(provider, { providerConcurrency: 1, clock: () => new Date(now) });
    const outcomes = await t.dispatcher.handleBatch([
      request({ deliveryId: 'd_1' }),
      request({ deliveryId: 'd_2' }),
      request({ deliveryId: 'd_3' }),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['done', 'done', 'retry']);
    expect(outcomes[2]).toMatchObject({ error: expect.any(SendDeferredError) });
    expect(t.attempts.docs.has('d_3:1')).toBe(false);
    expect(t.events.published.map((e) => e.deliveryId)).toEqual(['d_1', 'd_2']);
  });
});

describe('a provider call that never started', () => {
  it('defers the first call (attempt released, no result) and ends a later one Not Sent provider_unavailable', async () => {
    const notStarted = () => {
      throw new CallNotStartedError('no provider rate-limit token within the time budget');
    };
    const first = setup([notStarted]);
    await expect(first.dispatcher.handle(request())).rejects.toBeInstanceOf(SendDeferredError);
    expect(first.attempts.docs.size).toBe(0);
    expect(first.events.published).toHaveLength(0);

    const later = setup([unavailable, notStarted]);
    await later.dispatcher.handle(request());
    expect(later.events.published[0]).toMatchObject({
      status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
      reasonCode: 'provider_unavailable',
    });
  });
});
