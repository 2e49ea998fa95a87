// KvCancellations on real NATS: a batch's read sees a cancel put just before; the watch sees a
// cancel put later without a read.
import { randomBytes } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvBucketNames } from '@dlr/contracts';
import { createLogger, type NatsHandle } from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { KvCancellations } from '../src/adapters/nats/cancellations.js';

let nc: NatsConnection;
const ns = `t${randomBytes(5).toString('hex')}`;

beforeAll(async () => {
  if (!process.env['NATS_URL']) throw new Error('NATS_URL is not set: run through the vitest globalSetup');
  nc = await connect({ servers: process.env['NATS_URL'] });
});
afterAll(async () => {
  await new Kvm(nc)
    .open(kvBucketNames(ns).cancellations)
    .then((kv) => kv.destroy())
    .catch(() => undefined);
  await nc?.close();
});

describe('KvCancellations', () => {
  it('reads cancels before a batch and watches for later ones', async () => {
    const list = await KvCancellations.open(
      { nc, js: jetstream(nc) } as unknown as NatsHandle,
      ns,
      createLogger('t', 'silent'),
    );
    const kv = await new Kvm(nc).open(kvBucketNames(ns).cancellations);
    expect(list.isCancelled('c1')).toBe(false);
    await kv.put('c1', '{}');
    await list.refresh(['c1', 'c2']);
    expect(list.isCancelled('c1')).toBe(true);
    expect(list.isCancelled('c2')).toBe(false);
    await kv.put('c3', '{}');
    await eventually(async () => expect(list.isCancelled('c3')).toBe(true), 5_000, 10);
    list.stop();
  });
});
