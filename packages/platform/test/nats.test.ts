import { AckPolicy, type PubAck } from '@nats-io/jetstream';
import { MongoClient } from 'mongodb';
import { nanos } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  ensureTopology,
  perTurn,
  PoisonMessageError,
  publishDurable,
  runConsumer,
  UnavailableError,
  type ConsumerHandle,
  type MessageContext,
  type NatsHandle,
} from '@dlr/platform';
import { eventually, present } from '@dlr/testing';
import { closedPort, gate, infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const suffix = randomSuffix();
/** Subject prefix of this file's work stream. */
const prefix = `pt${suffix}`;
const STREAM = `PT_${suffix}`;
/** Streams created by the topology tests (their subjects start with a different token). */
const TOPO_STREAM = `PTT_${suffix}`;
const OTHER_STREAM = `PTO_${suffix}`;

const { logger } = memoryLogger();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let nats: NatsHandle;

beforeAll(async () => {
  nats = await connectNats({ servers: infraUrls().natsUrl, name: 'platform-nats-test', logger });
  await nats.jsm.streams.add({ name: STREAM, subjects: [`${prefix}.>`] });
});

afterAll(async () => {
  if (!nats) return;
  for (const name of [STREAM, TOPO_STREAM, OTHER_STREAM]) await nats.jsm.streams.delete(name).catch(() => false);
  await nats.drain();
});

describe('connectNats', () => {
  it('connects with JetStream and answers ping', async () => {
    await expect(nats.ping()).resolves.toBeUndefined();
    expect(nats.nc.isClosed()).toBe(false);
  });

  it('fails with an UnavailableError naming the server and NATS_URL when nothing listens', async () => {
    const port = await closedPort();
    const error: unknown = await connectNats({
      servers: `nats://127.0.0.1:${port}`,
      name: 'closed',
      logger: memoryLogger().logger,
      attempts: 2,
    }).then(
      (handle) => handle.drain().then(() => new Error('connected to a closed port')),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    const message = (error as UnavailableError).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('NATS_URL');
  });
});

describe('connectNats with credentials in the URL', () => {
  it('never logs or reports the user, password or token: nats://***@host', async () => {
    const port = await closedPort();
    const log = memoryLogger();
    const error: unknown = await connectNats({
      servers: `nats://alice:s3cr3t-pass@127.0.0.1:${port}, tok3n-s3cr3t@127.0.0.1:${port}`,
      name: 'closed',
      logger: log.logger,
      attempts: 2,
    }).then(
      (handle) => handle.drain().then(() => new Error('connected to a closed port')),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    const message = (error as UnavailableError).message;
    expect(message).toContain(`nats://***@127.0.0.1:${port}, ***@127.0.0.1:${port}`);
    expect(log.raw()).toContain('NATS not reachable yet');
    for (const secret of ['alice', 's3cr3t', 'tok3n']) {
      expect(message).not.toContain(secret);
      expect(log.raw()).not.toContain(secret);
    }
  });

  it('logs the servers redacted once connected', async () => {
    const log = memoryLogger();
    const url = new URL(infraUrls().natsUrl);
    url.username = 'bob';
    url.password = 'hunter2-secret';
    const handle = await connectNats({ servers: url.href, name: 'with-credentials', logger: log.logger });
    await handle.drain();
    expect(log.raw()).toContain('connected to NATS JetStream');
    expect(log.raw()).toContain(`nats://***@${url.host}`);
    expect(log.raw()).not.toMatch(/bob|hunter2/);
  });
});

describe('ensureTopology', () => {
  const stream = (maxAgeMs: number) => ({
    name: TOPO_STREAM,
    subjects: [`${prefix}t.>`],
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(60_000),
  });
  const consumer = (maxDeliver: number) => ({
    stream: TOPO_STREAM,
    config: {
      durable_name: 'topo_consumer',
      filter_subject: `${prefix}t.events`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
      max_deliver: maxDeliver,
    },
  });

  it('creates streams and consumers, can run again without change or data loss, and applies updates', async () => {
    const other = { name: OTHER_STREAM, subjects: [`${prefix}o.>`] };
    await ensureTopology(nats.jsm, [stream(3_600_000), other], [consumer(5)]);
    await publishDurable(nats.js, `${prefix}t.events`, encoder.encode('kept'), `topo-${suffix}`);

    await ensureTopology(nats.jsm, [stream(3_600_000), other], [consumer(5)]);
    const info = await nats.jsm.streams.info(TOPO_STREAM);
    expect(info.config.subjects).toEqual([`${prefix}t.>`]);
    expect(info.config.max_age).toBe(nanos(3_600_000));
    expect(info.state.messages).toBe(1);
    expect((await nats.jsm.streams.info(OTHER_STREAM)).config.subjects).toEqual([`${prefix}o.>`]);
    const consumers = [];
    for await (const c of nats.jsm.consumers.list(TOPO_STREAM)) consumers.push(c);
    expect(consumers.map((c) => c.name)).toEqual(['topo_consumer']);
    expect(consumers[0]!.config.max_deliver).toBe(5);
    expect(consumers[0]!.num_pending).toBe(1);

    await ensureTopology(nats.jsm, [stream(7_200_000), other], [consumer(7)]);
    const updated = await nats.jsm.streams.info(TOPO_STREAM);
    expect(updated.config.max_age).toBe(nanos(7_200_000));
    expect(updated.state.messages).toBe(1);
    const c = await nats.jsm.consumers.info(TOPO_STREAM, 'topo_consumer');
    expect(c.config.max_deliver).toBe(7);
    expect(c.num_pending).toBe(1);
  });

  it('moves a consumer from one filter to several and back, keeping its place', async () => {
    const several = (subjects: string[]) => {
      const { filter_subject: _one, ...config } = consumer(7).config;
      return { stream: TOPO_STREAM, config: { ...config, filter_subjects: subjects } };
    };
    await ensureTopology(nats.jsm, [stream(7_200_000)], [several([`${prefix}t.events`, `${prefix}t.more.*`])]);
    let c = await nats.jsm.consumers.info(TOPO_STREAM, 'topo_consumer');
    expect(c.config.filter_subject ?? '').toBe('');
    expect(c.config.filter_subjects).toEqual([`${prefix}t.events`, `${prefix}t.more.*`]);
    expect(c.num_pending).toBe(1);
    await publishDurable(nats.js, `${prefix}t.more.x`, encoder.encode('more'), `topo-more-${suffix}`);
    await eventually(async () =>
      expect((await nats.jsm.consumers.info(TOPO_STREAM, 'topo_consumer')).num_pending).toBe(2),
    );

    await ensureTopology(nats.jsm, [stream(7_200_000)], [consumer(7)]);
    c = await nats.jsm.consumers.info(TOPO_STREAM, 'topo_consumer');
    expect(c.config.filter_subject).toBe(`${prefix}t.events`);
    expect(c.config.filter_subjects ?? []).toEqual([]);
    expect(c.num_pending).toBe(1);
  });
});

describe('publishDurable', () => {
  it('stores a message once per msgId and reports the repeat as a duplicate', async () => {
    const subject = `${prefix}.dedupe`;
    const msgId = `dispatch:d_${suffix}:1:sent`;
    const first = await publishDurable(nats.js, subject, encoder.encode('one'), msgId, { 'Dlr-Test': 'yes' });
    const second = await publishDurable(nats.js, subject, encoder.encode('one again'), msgId);
    expect(first.stream).toBe(STREAM);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const third = await publishDurable(nats.js, subject, encoder.encode('two'), `${msgId}-other`);
    expect(third.duplicate).toBe(false);

    const stored = await nats.jsm.streams.getMessage(STREAM, { seq: first.seq });
    expect(decoder.decode(stored!.data)).toBe('one');
    expect(stored!.header.get('Nats-Msg-Id')).toBe(msgId);
    expect(stored!.header.get('Dlr-Test')).toBe('yes');
    const info = await nats.jsm.streams.info(STREAM, { subjects_filter: subject });
    expect(info.state.subjects?.[subject]).toBe(2);
  });
});

describe('perTurn', () => {
  it('sends the publishes of one event-loop turn in one socket write, each acked and stored in call order', async () => {
    const subject = `${prefix}.turn`;
    // The client's socket writer (internal to nats.js): counted to show the PUBs leave together.
    const transport = (nats.nc as unknown as { protocol?: { transport?: { send(b: Uint8Array): void } } }).protocol
      ?.transport;
    if (!transport) throw new Error('nats.js internals changed: protocol.transport not found');
    const send = transport.send.bind(transport);
    let writes = 0;
    transport.send = (b) => {
      writes += 1;
      send(b);
    };
    try {
      const together = perTurn();
      // Each from its own callback, as HTTP requests arrive: without perTurn, one write each.
      const acks = await Promise.all(
        Array.from(
          { length: 200 },
          (_, i) =>
            new Promise<PubAck>((resolve, reject) =>
              setTimeout(() => {
                together(() => publishDurable(nats.js, subject, encoder.encode(String(i)), `turn-${suffix}-${i}`)).then(
                  resolve,
                  reject,
                );
              }, 0),
            ),
        ),
      );
      expect(writes).toBeLessThanOrEqual(2);
      expect(acks.map((a) => a.duplicate)).toEqual(Array.from({ length: 200 }, () => false));
      expect(acks.every((a, i) => i === 0 || a.seq === acks[i - 1]!.seq + 1)).toBe(true);
      const last = await nats.jsm.streams.getMessage(STREAM, { seq: acks[199]!.seq });
      expect(decoder.decode(last!.data)).toBe('199');
    } finally {
      transport.send = send;
    }
  });

  it('rejects only the send that throws; the others of its turn still go', async () => {
    const together = perTurn();
    const results = await Promise.allSettled([
      together(() => publishDurable(nats.js, `${prefix}.turn`, encoder.encode('a'), `turn-${suffix}-a`)),
      together<never>(() => {
        throw new Error('bad send');
      }),
      together(() => publishDurable(nats.js, `${prefix}.turn`, encoder.encode('b'), `turn-${suffix}-b`)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('bad send'));
  });
});

describe('runConsumer', () => {
  const running: ConsumerHandle[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((h) => h.stop()));
  });

  /** A durable consumer of its own work subject; the handler decides by deliveryCount. */
  async function setup(name: string, ackWaitMs = 30_000) {
    const work = `${prefix}.work.${name}`;
    const dlq = `${prefix}.dlq.${name}`;
    await nats.jsm.consumers.add(STREAM, {
      durable_name: name,
      filter_subject: work,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
    });
    const start = async (
      handle: (message: string, ctx: MessageContext) => Promise<void>,
      options: {
        maxDeliver?: number;
        decode?: (data: Uint8Array) => string;
        concurrency?: number;
        transientRetry?: { initialDelayMs: number; maxDelayMs: number };
      } = {},
    ) => {
      const h = await runConsumer({
        js: nats.js,
        stream: STREAM,
        durable: name,
        decode: options.decode ?? ((data) => decoder.decode(data)),
        handle,
        deadLetterSubject: dlq,
        maxDeliver: options.maxDeliver ?? 3,
        concurrency: options.concurrency ?? 4,
        logger,
        ...(options.transientRetry ? { transientRetry: options.transientRetry } : {}),
      });
      running.push(h);
      return h;
    };
    const publish = (text: string, id = `${name}:${text}`) => publishDurable(nats.js, work, encoder.encode(text), id);
    const info = () => nats.jsm.consumers.info(STREAM, name);
    const deadLetter = () => nats.jsm.streams.getMessage(STREAM, { last_by_subj: dlq });
    const settled = () =>
      eventually(async () => {
        const i = await info();
        expect({ pending: i.num_pending, ackPending: i.num_ack_pending }, `consumer ${name} settled`).toEqual({
          pending: 0,
          ackPending: 0,
        });
        return i;
      }, 10_000);
    return { work, dlq, start, publish, info, deadLetter, settled };
  }

  it('acks messages the handler accepts', async () => {
    const c = await setup('ok');
    const seen: string[] = [];
    await c.start(async (message) => void seen.push(message));
    for (const text of ['a', 'b', 'c']) await c.publish(text);
    const info = await c.settled();
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
    expect(info.num_redelivered).toBe(0);
    expect(await c.deadLetter()).toBeNull();
  });

  it('redelivers after a failure and acks when the second delivery succeeds', async () => {
    const c = await setup('retry');
    const deliveries: number[] = [];
    await c.start(async (message, ctx) => {
      expect(message).toBe('flaky');
      expect(ctx.subject).toBe(c.work);
      deliveries.push(ctx.deliveryCount);
      if (ctx.deliveryCount === 1) throw new Error('temporarily down');
    });
    const ack = await c.publish('flaky');
    await c.settled();
    expect(deliveries).toEqual([1, 2]);
    expect((await c.info()).delivered.stream_seq).toBe(ack.seq);
    expect(await c.deadLetter()).toBeNull();
  });

  it('dead-letters a message after maxDeliver failed deliveries, with the original payload', async () => {
    const c = await setup('dead');
    const deliveries: number[] = [];
    await c.start(
      async (_message, ctx) => {
        deliveries.push(ctx.deliveryCount);
        throw new Error('always broken');
      },
      { maxDeliver: 3 },
    );
    const ack = await c.publish('doomed payload');
    const dead = await eventually(async () => present(await c.deadLetter(), 'dead letter'), 10_000);
    expect(decoder.decode(dead.data)).toBe('doomed payload');
    expect(dead.header.get('Dlr-Original-Subject')).toBe(c.work);
    expect(dead.header.get('Dlr-Reason')).toBe('Error: always broken');
    expect(dead.header.get('Dlr-Original-Stream-Seq')).toBe(String(ack.seq));
    expect(dead.header.get('Dlr-Consumer')).toBe('dead');
    await c.settled();
    expect(deliveries).toEqual([1, 2, 3]);
  });

  it('retries a store outage in place: 20 transient failures with maxDeliver 3 end handled, nothing dead-lettered', async () => {
    // Ack wait 1.5 s, outage ~3 s: without the keep-alive the server would redeliver mid-outage.
    const c = await setup('transient', 1_500);
    const port = await closedPort();
    const down = new MongoClient(`mongodb://127.0.0.1:${port}/`, { serverSelectionTimeoutMS: 50 });
    const store = new MongoClient(infraUrls().mongoUri, { serverSelectionTimeoutMS: 5_000 });
    const collection = store.db(`pt_${suffix}`).collection<{ _id: string; text: string }>('handled');
    const deliveries: number[] = [];
    let failures = 0;
    try {
      await c.start(
        async (message, ctx) => {
          deliveries.push(ctx.deliveryCount);
          // The first 20 calls meet a store that is down (the driver's own error); then it is back.
          const client = failures < 20 ? down : store;
          try {
            await client
              .db(`pt_${suffix}`)
              .collection<{ _id: string; text: string }>('handled')
              .replaceOne({ _id: message }, { text: message }, { upsert: true });
          } catch (error) {
            failures++;
            throw error;
          }
        },
        { maxDeliver: 3, transientRetry: { initialDelayMs: 50, maxDelayMs: 100 } },
      );
      await c.publish('through the outage');
      const info = await c.settled();
      expect(failures).toBe(20);
      expect(deliveries).toHaveLength(21);
      expect(new Set(deliveries), 'the delivery count never grew').toEqual(new Set([1]));
      expect(info.num_redelivered).toBe(0);
      expect(await collection.findOne({ _id: 'through the outage' })).toEqual({
        _id: 'through the outage',
        text: 'through the outage',
      });
      expect(await c.deadLetter()).toBeNull();
    } finally {
      await collection.drop().catch(() => false);
      await Promise.all([down.close(), store.close()]);
    }
  });

  it('stop() ends an in-place retry at once and hands the message back (nak), not dead-lettered', async () => {
    const c = await setup('transient-stop');
    let calls = 0;
    const handle = await c.start(
      async () => {
        calls++;
        throw new UnavailableError('store down');
      },
      { maxDeliver: 1, transientRetry: { initialDelayMs: 5_000, maxDelayMs: 5_000 } },
    );
    await c.publish('held');
    await eventually(() => expect(calls, 'handler calls').toBeGreaterThan(0), 5_000);
    const started = performance.now();
    await handle.stop();
    expect(performance.now() - started, 'stop() waited for the backoff').toBeLessThan(2_000);
    // Handed back, not left to the 30 s ack wait: a new consumer gets it again at once.
    const seen: number[] = [];
    await c.start(async (_message, ctx) => void seen.push(ctx.deliveryCount));
    await eventually(() => expect(seen, 'redelivered after the nak').toEqual([2]), 5_000);
    await c.settled();
    expect(await c.deadLetter()).toBeNull();
  });

  it('dead-letters a PoisonMessageError at once', async () => {
    const c = await setup('poison');
    let calls = 0;
    await c.start(async () => {
      calls++;
      throw new PoisonMessageError('unknown event type');
    });
    await c.publish('poison');
    const dead = await eventually(async () => present(await c.deadLetter(), 'dead letter'), 10_000);
    expect(dead.header.get('Dlr-Reason')).toBe('PoisonMessageError: unknown event type');
    await c.settled();
    expect(calls).toBe(1);
  });

  it('dead-letters an undecodable payload at once without calling the handler', async () => {
    const c = await setup('undecodable');
    let calls = 0;
    await c.start(
      async () => {
        calls++;
      },
      {
        decode: (data) => {
          const text = decoder.decode(data);
          if (text.startsWith('garbage')) throw new Error('invalid wire type');
          return text;
        },
      },
    );
    await c.publish('garbage \u0000\u0001');
    const dead = await eventually(async () => present(await c.deadLetter(), 'dead letter'), 10_000);
    expect(decoder.decode(dead.data)).toBe('garbage \u0000\u0001');
    expect(dead.header.get('Dlr-Original-Subject')).toBe(c.work);
    expect(dead.header.get('Dlr-Reason')).toMatch(/^undecodable payload: .*invalid wire type/);
    const info = await c.settled();
    expect(info.num_redelivered).toBe(0);
    expect(calls).toBe(0);
  });

  it('stop() waits for an in-flight handler to finish, and nothing is consumed afterwards', async () => {
    const c = await setup('stopping');
    const order: string[] = [];
    const release = gate();
    const started = gate();
    let calls = 0;
    const handle = await c.start(async () => {
      calls++;
      started.open();
      await release.promise;
      order.push('handler finished');
    });
    await c.publish('slow');
    await started.promise;
    const stopping = handle.stop().then(() => order.push('stopped'));
    // Deliberately late: stop() must still be waiting when the handler finishes.
    setTimeout(release.open, 300);
    await stopping;
    expect(order).toEqual(['handler finished', 'stopped']);
    const info = await c.info();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);

    await c.publish('after stop');
    await eventually(async () => expect((await c.info()).num_pending, 'pending messages').toBe(1), 5_000);
    expect(calls).toBe(1);
  });
});
