// Fault suite (issue 14), case 2: the store frozen (SIGSTOP) for 6 minutes during a 2 000-recipient
// send, on a private FerretDB of this file. Once it thaws every message is sent, exactly once; every
// record reaches the simulator's outcome (delivered), counts equal a recount; nothing is
// dead-lettered, however long the outage lasted (transient is not poison).
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
import { createEmail, expectNoDeadLetters, expectReportEquals, expectSentOnce, outbox } from './faults-helpers.js';
import { startE2eSystem } from './system.js';

const FREEZE_MS = 6 * 60_000;
let store: PrivateServer;
let system: RunningSystem;
let api: CommunicationApi;
const say = (line: string) => process.stderr.write(`[faults-store-send] ${line}\n`);

beforeAll(async () => {
  store = await startPrivateServer('mongo', () => undefined);
  system = await startE2eSystem('faults-store-send', {
    mongoUri: store.url,
    logLevel: 'warn',
    simulatorOutcomes: 'delivered=1',
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
}, 180_000);

afterAll(async () => {
  store?.thaw();
  api?.close();
  await system?.stop();
  await store?.stop();
});

describe('faults: store frozen during a send', () => {
  it('case 2: sends every message once after a 6-minute store freeze mid-send, and dead-letters nothing', async () => {
    const n = 2_000;
    const emails = Array.from({ length: n }, (_, i) => `sendfreeze${i}@example.org`);
    const { id, ids } = await createEmail(api, 'Store freeze during a send', emails, { send: true });
    // Mid-send: the freeze lands once the provider has some of the messages, not all.
    await eventually(async () => expect((await outbox(system)).size).toBeGreaterThanOrEqual(100), 120_000, 100);
    store.freeze();
    const frozenAt = Date.now();
    const before = (await outbox(system)).size;
    try {
      // The outage lasts 6 minutes (the fault's duration, not a wait for a state).
      await sleep(FREEZE_MS);
    } finally {
      store.thaw();
    }
    const during = (await outbox(system)).size;
    say(`store frozen ${FREEZE_MS / 1000} s with ${before}/${n} sent; ${during} sent when it thawed`);
    expect(before, 'the freeze landed mid-send').toBeLessThan(n);

    await expectReportEquals(system, id, new Map(ids.map((d) => [d, 'delivered'])), 600_000);
    await expectSentOnce(system, ids);
    await expectNoDeadLetters(process.env.NATS_URL!, system.namespace);
    say(`case 2: every record delivered ${((Date.now() - frozenAt - FREEZE_MS) / 1000).toFixed(0)} s after the thaw`);
  }, 1_500_000);
});
