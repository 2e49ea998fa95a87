import { AckPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  publishDurable,
  runBatchConsumer,
  UnavailableError,
  type BatchItem,
  type BatchOutcome,
  type ConsumerHandle,
  type NatsHandle,
} from '@dlr/platform';
import { eventually, present } from '@dlr/testing';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const suffix = randomSuffix();
const prefix = `pb${suffix}`;
const STREAM = `PB_${suffix}`;
const { logger } = memoryLogger();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let nats: NatsHandle;
const running: ConsumerHandle[] = [];

beforeAll(async () => {
  nats = await connectNats({ servers: infraUrls().natsUrl, name: 'platform-batch-test', logger });
  await nats.jsm.streams.add({ name: STREAM, subjects: [`${prefix}.>`] });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

afterAll(async () => {
  if (!nats) return;
  await nats.jsm.streams.delete(STREAM).catch(() => false);
  await nats.drain();
});

/** A durable consumer of its own work subject, run by runBatchConsumer with `handleBatch`. */
async function setup(name: string) {
  const work = `${prefix}.work.${name}`;
  const dlq = `${prefix}.dlq.${name}`;
  await nats.jsm.consumers.add(STREAM, {
    durable_name: name,
    filter_subject: work,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(30_000),
    max_deliver: -1,
  });
  const start = async (
    handleBatch: (items: readonly BatchItem<string>[]) => Promise<BatchOutcome[]>,
    batchSize = 10,
  ) => {
    const decode = (data: Uint8Array) => {
      const text = decoder.decode(data);
      if (text.startsWith('garbage')) throw new Error('invalid wire type');
      return text;
    };
    const h = await runBatchConsumer({
      js: nats.js,
      stream: STREAM,
      durable: name,
      decode,
      handleBatch,
      deadLetterSubject: dlq,
      maxDeliver: 3,
      batchSize,
      logger,
    });
    running.push(h);
  };
  const publish = (text: string) => publishDurable(nats.js, work, encoder.encode(text), `${name}:${text}`);
  const settled = () =>
    eventually(async () => {
      const i = await nats.jsm.consumers.info(STREAM, name);
      expect({ pending: i.num_pending, ackPending: i.num_ack_pending }, `consumer ${name} settled`).toEqual({
        pending: 0,
        ackPending: 0,
      });
      return i;
    }, 15_000);
  const deadLetters = async () => {
    const info = await nats.jsm.streams.info(STREAM, { subjects_filter: dlq });
    return info.state.subjects?.[dlq] ?? 0;
  };
  return { start, publish, settled, deadLetters };
}

describe('runBatchConsumer', () => {
  it('hands messages over in batches of at most batchSize and acks each', async () => {
    const c = await setup('batches');
    for (let i = 0; i < 30; i++) await c.publish(`m${i}`);
    const sizes: number[] = [];
    const seen: string[] = [];
    await c.start(async (items) => {
      sizes.push(items.length);
      seen.push(...items.map((i) => i.message));
      return items.map(() => ({ kind: 'ack' }));
    }, 10);
    await eventually(() => expect(seen.length).toBe(30));
    const info = await c.settled();
    expect(seen.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(info.num_redelivered).toBe(0);
  });

  it('settles each message by its own outcome: ack, dead-letter, redelivery (counted), undecodable', async () => {
    const c = await setup('outcomes');
    const deliveries = new Map<string, number[]>();
    await c.start(async (items) =>
      items.map(({ message, ctx }): BatchOutcome => {
        deliveries.set(message, [...(deliveries.get(message) ?? []), ctx.deliveryCount]);
        if (message === 'poison') return { kind: 'dead-letter', reason: 'never valid' };
        if (message === 'flaky' && ctx.deliveryCount === 1)
          return { kind: 'retry', error: new Error('busy'), delayMs: 10 };
        return { kind: 'ack' };
      }),
    );
    for (const text of ['ok', 'poison', 'flaky', 'garbage \u0000']) await c.publish(text);
    await eventually(async () => expect(await c.deadLetters()).toBe(2));
    await eventually(() => expect(deliveries.get('flaky')).toEqual([1, 2]));
    await c.settled();
    expect(deliveries.get('ok')).toEqual([1]);
    expect(deliveries.get('poison')).toEqual([1]);
    expect(deliveries.get('flaky')).toEqual([1, 2]);
    expect(deliveries.has('garbage \u0000')).toBe(false);
    expect(await c.deadLetters()).toBe(2);
  });

  it('retries a transient failure in place: not redelivered, not counted toward dead-lettering', async () => {
    const c = await setup('transient');
    const calls: number[] = [];
    await c.start(async (items) => {
      // Down for five rounds, more than maxDeliver (3): an outage must not dead-letter anything.
      const down = calls.length < 5;
      calls.push(...items.map((i) => i.ctx.deliveryCount));
      return items.map(() => (down ? { kind: 'retry', error: new UnavailableError('store down') } : { kind: 'ack' }));
    });
    await c.publish('during an outage');
    // The consumer's counters can read 0/0 before the server has counted the new message; wait on the handler first.
    await eventually(() => expect(calls).toEqual([1, 1, 1, 1, 1, 1]), 20_000);
    const info = await c.settled();
    expect(calls).toEqual([1, 1, 1, 1, 1, 1]);
    expect(info.num_redelivered).toBe(0);
    expect(await c.deadLetters()).toBe(0);
  });

  it('treats a handler that throws as a retry of the whole batch', async () => {
    const c = await setup('throws');
    let calls = 0;
    await c.start(async (items) => {
      calls++;
      if (calls === 1) throw new UnavailableError('NATS down');
      return items.map(() => ({ kind: 'ack' }));
    });
    await c.publish('x');
    await eventually(() => expect(calls).toBe(2));
    await c.settled();
    expect(calls).toBe(2);
    const info = present(await nats.jsm.consumers.info(STREAM, 'throws'), 'info');
    expect(info.num_redelivered).toBe(0);
  });
});
