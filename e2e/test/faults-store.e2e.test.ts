// Fault suite (issue 14), the store: the whole system on a private FerretDB of this file.
// 3. Store frozen (SIGSTOP) 60 s during callbacks and answer POSTs: webhooks and answers keep
//    answering 2xx with p99 < 250 ms during the freeze; once it thaws the report catches up.
// Ends with every record's status equal to the ground truth, counts equal to a recount, every
// message sent exactly once, nothing dead-lettered.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  communicationClient,
  eventually,
  startPrivateServer,
  type CommunicationApi,
  type PrivateServer,
  type RunningSystem,
} from '@dlr/testing';
import {
  callbackBody,
  createEmail,
  expectNoDeadLetters,
  expectReportEquals,
  expectSentOnce,
  page,
  percentile,
  postAnswer,
  postCallback,
  type Answered,
} from './faults-helpers.js';
import { startE2eSystem } from './system.js';

let store: PrivateServer;
let system: RunningSystem;
let api: CommunicationApi;
const say = (line: string) => process.stderr.write(`[faults-store] ${line}\n`);

beforeAll(async () => {
  store = await startPrivateServer('mongo', () => undefined);
  // The simulator's own callbacks come after the test: the test's callbacks are the ground truth.
  system = await startE2eSystem('faults-store', {
    mongoUri: store.url,
    logLevel: 'warn',
    simulatorOutcomes: 'delivered=1',
    simulatorDelayMs: 3_600_000,
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 180_000);

afterAll(async () => {
  store?.thaw();
  api?.close();
  await system?.stop();
  await store?.stop();
});

describe('faults: store', () => {
  it('case 3: webhooks and answers stay 2xx with p99 < 250 ms while the store is frozen 60 s, and the report catches up', async () => {
    const n = 600; // 12/s over the freeze: enough answers that p99 is not the slowest one or two
    const emails = Array.from({ length: n }, (_, i) => `frozen${i}@example.org`);
    const { id, ids } = await createEmail(api, 'Store freeze drill', emails, { send: true });
    await eventually(
      async () => expect((await page(system, id, undefined, 1)).counts.sent ?? 0).toBe(n),
      120_000,
      1_000,
    );

    // Even records get a delivered callback, odd ones a recipient's acknowledgement, spread over the freeze.
    const posted: Promise<[kind: 'callback' | 'answer', Answered]>[] = [];
    store.freeze();
    const frozenAt = Date.now();
    try {
      for (let i = 0; i < n; i++) {
        const due = frozenAt + (i * 50_000) / n;
        if (due > Date.now()) await sleep(due - Date.now()); // pacing over 50 s of the freeze, not waiting for answers
        posted.push(
          i % 2 === 0
            ? postCallback(system, callbackBody(id, ids[i]!, `frozen_${i}`)).then((a) => ['callback', a])
            : postAnswer(system, id, ids[i]!, 'ack').then((a) => ['answer', a]),
        );
      }
      await Promise.all(posted);
      // The freeze lasts 60 s whatever the posting took (the fault's duration, not a wait for a state).
      const left = frozenAt + 60_000 - Date.now();
      if (left > 0) await sleep(left);
    } finally {
      store.thaw();
    }
    const all = await Promise.all(posted);
    const callbacks = all.filter(([k]) => k === 'callback').map(([, a]) => a);
    const answers = all.filter(([k]) => k === 'answer').map(([, a]) => a);
    const p99 = (xs: Answered[]) =>
      percentile(
        xs.map((a) => a.ms),
        99,
      );
    say(
      `case 3: during the freeze ${callbacks.length} callbacks p99 ${p99(callbacks).toFixed(0)} ms, ` +
        `${answers.length} answers p99 ${p99(answers).toFixed(0)} ms`,
    );
    expect(callbacks.filter((a) => a.status < 200 || a.status >= 300).map((a) => a.status)).toEqual([]);
    expect(answers.filter((a) => a.status < 200 || a.status >= 300).map((a) => a.status)).toEqual([]);
    expect(p99(callbacks), 'webhook p99, ms').toBeLessThan(250);
    expect(p99(answers), 'answer p99, ms').toBeLessThan(250);

    const truth = new Map(ids.map((d, i) => [d, i % 2 === 0 ? 'delivered' : 'acknowledged']));
    await expectReportEquals(system, id, truth);
    await expectSentOnce(system, ids);
    await expectNoDeadLetters(process.env.NATS_URL!, system.namespace);
  }, 900_000);
});
