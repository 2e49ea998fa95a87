import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Channel, streamConfigs, streamNames, subjects, SuppressionLifted } from '@dlr/contracts';
import { AckPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNats,
  ensureTopology,
  listDeadLetters,
  getDeadLetter,
  PoisonMessageError,
  publishDurable,
  replayDeadLetters,
  replayMsgId,
  runConsumer,
  type ConsumerHandle,
  type DeadLetter,
  type NatsHandle,
} from '@dlr/platform';
import { eventually, REPO_ROOT } from '@dlr/testing';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const ns = `dl${randomSuffix()}`;
const s = subjects(ns);
const n = streamNames(ns);
const CONSUMER = 'dead-letters-test';
const { logger } = memoryLogger();
let nats: NatsHandle;
let consumer: ConsumerHandle;
/** While true the handler refuses every message as poison; the test then "fixes" it. */
let broken = true;
const handled: string[] = [];

const lift = (liftId: string) =>
  SuppressionLifted.encode({
    liftId,
    channel: Channel.CHANNEL_EMAIL,
    addressKey: `key-${liftId}`,
    operator: 'op',
    reason: 'test',
    liftedAt: new Date('2026-01-02T03:04:05Z'),
  }).finish();

async function all(): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for await (const letter of listDeadLetters(nats, ns, CONSUMER)) letters.push(letter);
  return letters;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = promisify(execFile);
  return run(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join('scripts', 'dead-letters.ts'), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NATS_URL: infraUrls().natsUrl, NATS_NAMESPACE: ns },
      timeout: 60_000,
    },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

beforeAll(async () => {
  nats = await connectNats({ servers: infraUrls().natsUrl, name: 'dead-letters-test', logger });
  await ensureTopology(nats.jsm, streamConfigs(ns), [
    {
      stream: n.communication,
      config: { durable_name: CONSUMER, filter_subject: s.suppressionLifted, ack_policy: AckPolicy.Explicit },
    },
  ]);
  consumer = await runConsumer({
    js: nats.js,
    stream: n.communication,
    durable: CONSUMER,
    decode: (data) => SuppressionLifted.decode(data),
    handle: async (m) => {
      if (broken) throw new PoisonMessageError(`cannot lift ${m.liftId} yet`);
      handled.push(m.liftId);
    },
    deadLetterSubject: s.deadLetter(CONSUMER),
    maxDeliver: 3,
    concurrency: 2,
    logger,
  });
  for (const id of ['a', 'b', 'c']) await publishDurable(nats.js, s.suppressionLifted, lift(id), `lift-${id}`);
  await eventually(async () => expect(await all()).toHaveLength(3), 10_000);
});

afterAll(async () => {
  await consumer?.stop();
  if (!nats) return;
  for (const name of Object.values(n)) await nats.jsm.streams.delete(name).catch(() => false);
  await nats.drain();
});

describe('dead letters', () => {
  it('lists and shows each dead letter with its consumer, original subject and reason', async () => {
    const letters = await all();
    expect(letters.map((l) => [l.consumer, l.originalSubject, l.reason])).toEqual(
      ['a', 'b', 'c'].map((id) => [CONSUMER, s.suppressionLifted, `PoisonMessageError: cannot lift ${id} yet`]),
    );
    const one = await getDeadLetter(nats, ns, letters[0]!.seq);
    expect(SuppressionLifted.decode(one.data).liftId).toBe('a');

    const list = await cli('list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${CONSUMER}  ${s.suppressionLifted}  PoisonMessageError: cannot lift b yet`);
    expect(list.stdout).toContain('3 dead letter(s)');
    const show = await cli('show', String(letters[1]!.seq));
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('Dlr-Reason: PoisonMessageError: cannot lift b yet');
    expect(show.stdout).toContain('SuppressionLifted {');
    expect(show.stdout).toContain('"addressKey": "key-b"');
    expect(show.stderr).toContain('personal data');
  });

  it('answers a wrong command line with the usage and exit code 2, and changes nothing', async () => {
    for (const args of [['replay', CONSUMER], ['show', 'x'], ['frobnicate']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: npm run dead-letters');
    }
    const other = await cli('replay', 'another-consumer', String((await all())[0]!.seq));
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`belongs to consumer "${CONSUMER}"`);
    expect(await all()).toHaveLength(3);
  });

  it('replays once: a fixed handler gets each message once, however many times replay runs', async () => {
    broken = false;
    const [first, ...rest] = await all();
    // A replay interrupted after its publish, before the dead letter was removed:
    await publishDurable(nats.js, first!.originalSubject, first!.data, replayMsgId(ns, first!.seq));
    await eventually(() => expect(handled).toEqual(['a']), 10_000);

    const replay = await cli('replay', CONSUMER, '--all');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`replayed ${first!.seq} → ${s.suppressionLifted} (already there: deduplicated)`);
    for (const l of rest) expect(replay.stdout).toContain(`replayed ${l.seq} → ${s.suppressionLifted}\n`);
    expect(replay.stdout).toContain(`3 dead letter(s) of ${CONSUMER} replayed and removed`);
    await eventually(() => expect([...handled].sort()).toEqual(['a', 'b', 'c']), 10_000);
    expect(await all()).toEqual([]);

    // Again: nothing is left to replay, and nothing lands twice.
    expect(await replayDeadLetters(nats, ns, CONSUMER, 'all')).toEqual([]);
    const info = await nats.jsm.streams.info(n.communication, { subjects_filter: s.suppressionLifted });
    expect(info.state.subjects?.[s.suppressionLifted], 'three originals and three replays').toBe(6);
    await eventually(async () => {
      const c = await nats.jsm.consumers.info(n.communication, CONSUMER);
      expect({ pending: c.num_pending, ackPending: c.num_ack_pending }).toEqual({ pending: 0, ackPending: 0 });
    }, 10_000);
    expect([...handled].sort()).toEqual(['a', 'b', 'c']);
  });
});
