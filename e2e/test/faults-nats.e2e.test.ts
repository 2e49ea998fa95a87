// Fault suite (issue 14), NATS itself: the whole system on a private nats-server of this file.
// 1. NATS SIGKILLed during 1 000 callbacks/s and restarted (same data, same port): no callback that
//    got a 2xx is lost; those refused converge after a provider-style retry.
// 4. NATS down (SIGKILL) for 2 minutes during callbacks: every webhook answers 503 within 10 s, never
//    2xx; after the restart and a provider-style retry everything converges.
// Each ends with every record's status equal to the ground truth, counts equal to a recount, and
// nothing dead-lettered (no sends here: the provider's outbox stays empty).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  communicationClient,
  startPrivateServer,
  type CommunicationApi,
  type PrivateServer,
  type RunningSystem,
} from '@dlr/testing';
import {
  acknowledged,
  callbackBody,
  createEmail,
  expectNoDeadLetters,
  expectReportEquals,
  outbox,
  percentile,
  postAtRate,
  postCallback,
  retryUntilAcknowledged,
  type Answered,
} from './faults-helpers.js';
import { startE2eSystem } from './system.js';

let nats: PrivateServer;
let system: RunningSystem;
let api: CommunicationApi;
const say = (line: string) => process.stderr.write(`[faults-nats] ${line}\n`);

beforeAll(async () => {
  nats = await startPrivateServer('nats', () => undefined);
  system = await startE2eSystem('faults-nats', { natsUrl: nats.url, logLevel: 'warn' });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 180_000);

afterAll(async () => {
  api?.close();
  await system?.stop();
  await nats?.stop();
});

const emails = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}@example.org`);

describe('faults: NATS', () => {
  it('case 1: loses no acknowledged callback when NATS is SIGKILLed during 1 000 callbacks/s and restarted', async () => {
    const rate = 1_000;
    const n = 4 * rate; // four seconds of callbacks
    const { id, ids } = await createEmail(api, 'NATS kill drill', emails('natskill', n));
    const bodies = ids.map((d, i) => callbackBody(id, d, `natskill_${i}`));
    let restarted: Promise<void> | undefined;
    const started = performance.now();
    const answers = await postAtRate(system, bodies, rate, async (i) => {
      if (i === rate) await nats.kill(); // one second in
      if (i === 2 * rate) {
        restarted = nats.restart(); // one second later, while the posts go on
        restarted.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      }
    });
    const seconds = (performance.now() - started) / 1000;
    await restarted;
    const got = answers.filter((a) => acknowledged(a.status)).length;
    say(
      `case 1: ${n} callbacks posted in ${seconds.toFixed(1)} s (${Math.round(n / seconds)}/s); ` +
        `${got} answered 2xx, ${n - got} refused; p99 of all ${percentile(
          answers.map((a) => a.ms),
          99,
        ).toFixed(0)} ms`,
    );
    expect(got, 'acknowledged while NATS was up').toBeGreaterThan(0);
    expect(n - got, 'refused while NATS was down').toBeGreaterThan(0);

    // A provider retries only what was not acknowledged: what got a 2xx must arrive on its own.
    await retryUntilAcknowledged(system, bodies, answers);
    await expectReportEquals(system, id, new Map(ids.map((d) => [d, 'delivered'])));
    await expectNoDeadLetters(nats.url, system.namespace);
    expect((await outbox(system)).size).toBe(0);
  }, 900_000);

  it('case 4: answers 503 within 10 s (never 2xx) while NATS is down for 2 minutes, and converges after a retry', async () => {
    const before = 100;
    const during = 600; // 5/s for the two minutes
    const n = before + during;
    const { id, ids } = await createEmail(api, 'NATS down drill', emails('natsdown', n));
    const bodies = ids.map((d, i) => callbackBody(id, d, `natsdown_${i}`));

    const first = await postAtRate(system, bodies.slice(0, before), 50);
    expect(first.filter((a) => !acknowledged(a.status))).toEqual([]);

    await nats.kill();
    const downAt = Date.now();
    let answers: Answered[];
    try {
      answers = await postAtRate(system, bodies.slice(before), during / 120);
      // The outage lasts two minutes whatever the posting took (the fault's duration, not a wait for a state).
      const left = downAt + 120_000 - Date.now();
      if (left > 0) await sleep(left);
    } finally {
      await nats.restart();
    }
    const statuses: Record<number, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const slowest = Math.max(...answers.map((a) => a.ms));
    say(
      `case 4: ${during} callbacks while NATS was down: statuses ${JSON.stringify(statuses)}, slowest ${slowest.toFixed(0)} ms`,
    );
    expect(statuses, 'every webhook refused with 503').toEqual({ 503: during });
    expect(slowest, 'slowest refusal, ms').toBeLessThan(10_000);

    // The provider retries what was refused; a committed-but-unanswered callback is deduplicated.
    await retryUntilAcknowledged(system, bodies, [...first, ...answers], 300_000);
    // Callbacks that arrive once NATS is back are acknowledged as before.
    expect((await postCallback(system, bodies[0]!)).status).toBeLessThan(300);
    await expectReportEquals(system, id, new Map(ids.map((d) => [d, 'delivered'])));
    await expectNoDeadLetters(nats.url, system.namespace);
  }, 900_000);
});
