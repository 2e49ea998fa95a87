// Fault suite (issue 14), case 5: each of the five services SIGKILLed in turn mid-flow — a send at a
// provider rate that keeps it going, the simulator's callbacks, recipients' acknowledgements — and
// restarted on the same ports. The end state is the one of a clean run: every record at its ground
// truth (acknowledged where the recipient answered, else the simulator's delivered), counts equal a
// recount, every message at the provider exactly once, nothing dead-lettered.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import {
  createEmail,
  expectNoDeadLetters,
  expectReportEquals,
  expectSentOnce,
  outbox,
  postAnswer,
} from './faults-helpers.js';
import { startE2eSystem } from './system.js';

const SERVICES = ['communication', 'dispatch', 'provider-callback', 'reporting', 'feedback-link'] as const;
let system: RunningSystem;
let api: CommunicationApi;
const say = (line: string) => process.stderr.write(`[faults-kill] ${line}\n`);

beforeAll(async () => {
  system = await startE2eSystem('faults-kill', {
    logLevel: 'warn',
    simulatorOutcomes: 'delivered=1',
    // 25 messages/s: the send lasts through the five kills.
    extraEnv: { dispatch: { SIMULATOR_RATE_PER_SECOND: '25' } },
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 180_000);

afterAll(async () => {
  api?.close();
  await system?.stop();
});

/** Posts a recipient's acknowledgement until it is answered 2xx (a recipient tries again). */
async function acknowledge(communicationId: string, deliveryId: string): Promise<void> {
  for (;;) {
    const answer = await postAnswer(system, communicationId, deliveryId, 'ack');
    if (answer.status >= 200 && answer.status < 300) return;
    await sleep(500);
  }
}

describe('faults: services killed in turn', () => {
  it('case 5: gives the end state of a clean run when each service is SIGKILLed mid-flow and restarted', async () => {
    const n = 1_200;
    const emails = Array.from({ length: n }, (_, i) => `killturn${i}@example.org`);
    const { id, ids } = await createEmail(api, 'Kill each service in turn', emails, { send: true });
    const answered = ids.filter((_, i) => i % 8 === 0);
    await eventually(async () => expect((await outbox(system)).size).toBeGreaterThanOrEqual(50), 120_000, 100);
    const answers = Promise.all(answered.map((d) => acknowledge(id, d)));
    for (const name of SERVICES) {
      const sent = (await outbox(system)).size;
      const code = await system.kill(name, 'SIGKILL');
      await system.restart(name);
      say(`${name} SIGKILLed (exit ${code}) with ${sent}/${n} at the provider, restarted`);
    }
    const sentAfterKills = (await outbox(system)).size;
    expect(sentAfterKills, 'the kills landed mid-send').toBeLessThan(n);
    await answers;

    const truth = new Map(ids.map((d) => [d, 'delivered']));
    for (const d of answered) truth.set(d, 'acknowledged');
    await expectReportEquals(system, id, truth, 600_000);
    await expectSentOnce(system, ids);
    await expectNoDeadLetters(process.env.NATS_URL!, system.namespace);
  }, 1_200_000);
});
