// Fault suite (issue 14), case 6: a poison message goes to the dead-letter stream at once and the
// flow goes on; a message dead-lettered for a cause that is then fixed lands exactly once when
// `npm run dead-letters -- replay` republishes it.
// The poison: bytes that are no RawCallbackReceived, on provider-callback's raw-callback subject.
// The fixable one: a committed Twilio callback while this deployment has no Twilio webhook (a
// provider left out of the config); the fix is provider-callback restarted with Twilio configured.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  consumerNames,
  CreateCommunicationRequest,
  RawCallbackReceived,
  RecipientInput,
  subjects,
} from '@dlr/contracts';
import { connectNats, createLogger, publishDurable, type NatsHandle } from '@dlr/platform';
import { communicationClient, eventually, REPO_ROOT, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { callbackBody, deadLetters, expectReportEquals, outbox, postAtRate } from './faults-helpers.js';
import { startE2eSystem } from './system.js';

const run = promisify(execFile);
const NATS_URL = process.env.NATS_URL ?? '';
let system: RunningSystem;
let api: CommunicationApi;
let nats: NatsHandle;
const say = (line: string) => process.stderr.write(`[faults-poison] ${line}\n`);

beforeAll(async () => {
  system = await startE2eSystem('faults-poison', { logLevel: 'warn' });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  nats = await connectNats({ servers: NATS_URL, name: 'faults-poison', logger: createLogger('t', 'silent') });
}, 180_000);

afterAll(async () => {
  api?.close();
  await nats?.drain();
  await system?.stop();
});

/** `npm run dead-letters -- <args>` against this system, as an operator runs it. */
async function deadLettersCli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'scripts/dead-letters.ts', ...args],
    { cwd: REPO_ROOT, env: { ...process.env, NATS_URL, NATS_NAMESPACE: system.namespace }, timeout: 60_000 },
  );
  return stdout;
}

describe('faults: poison and replay', () => {
  it('case 6: dead-letters a poison message at once, goes on, and a replay of a fixed one lands exactly once', async () => {
    const n = 100;
    const { communication } = await api.create(
      CreateCommunicationRequest.fromPartial({
        title: 'Poison drill',
        channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
        emailSubject: 'Poison drill',
        emailBody: 'This is a drill.',
        smsText: 'This is a drill.',
      }),
    );
    const id = communication!.id;
    const recipients = [
      RecipientInput.fromPartial({ phone: '+61400770001' }),
      ...Array.from({ length: n }, (_, i) => RecipientInput.fromPartial({ email: `poison${i}@example.org` })),
    ];
    const { deliveries } = await api.addRecipients({ communicationId: id, recipients });
    const ids: string[] = [];
    for (const d of deliveries) ids[d.recipientIndex] = d.deliveryId;
    const [sms, ...emails] = ids as [string, ...string[]];

    const raw = subjects(system.namespace).rawCallback;
    const started = Date.now();
    // Not a RawCallbackReceived at all (field 1 with wire type 7).
    await publishDurable(nats.js, raw('simulator'), new Uint8Array([0x0f, 0xff, 0xff]), `poison:${id}`);
    const twilio = RawCallbackReceived.encode({
      provider: 'twilio',
      body: Buffer.from('MessageSid=SMpoisondrill0001&MessageStatus=delivered'),
      query: `d=${sms}&c=${id}&a=1`,
      receivedAt: new Date(),
    }).finish();
    await publishDurable(nats.js, raw('twilio'), twilio, `fixable:${id}`);

    // At once: dead-lettered on their first delivery, well before any retry schedule would.
    const letters = await eventually(async () => {
      const found = await deadLetters(NATS_URL, system.namespace, consumerNames.callbackRaw);
      expect(found.map((l) => l.originalSubject).sort()).toEqual([raw('simulator'), raw('twilio')].sort());
      return found;
    }, 15_000);
    say(`both dead-lettered within ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const l of letters)
      expect(l.time.getTime() - started, `${l.originalSubject} dead-lettered at once`).toBeLessThan(10_000);
    const fixable = letters.find((l) => l.originalSubject === raw('twilio'))!;
    expect(fixable.reason).toMatch(/no webhook configured for "twilio"/);

    // The flow goes on behind them.
    const answers = await postAtRate(
      system,
      emails.map((d, i) => callbackBody(id, d, `poison_${i}`)),
      50,
    );
    expect(answers.filter((a) => a.status >= 300)).toEqual([]);
    const truth = new Map<string, string>([[sms, 'pending'], ...emails.map((d): [string, string] => [d, 'delivered'])]);
    await expectReportEquals(system, id, truth);

    // The fix, then the replay an operator runs (twice: the second finds nothing of that sequence left).
    await system.kill('provider-callback', 'SIGTERM');
    await system.restart('provider-callback', {
      TWILIO_AUTH_TOKEN: 'poison-drill-twilio-token',
      CALLBACK_PUBLIC_BASE_URL: system.providerCallbackUrl,
    });
    const listed = await deadLettersCli('list', consumerNames.callbackRaw);
    expect(listed).toContain(String(fixable.seq));
    await deadLettersCli('replay', consumerNames.callbackRaw, String(fixable.seq));
    await expect(deadLettersCli('replay', consumerNames.callbackRaw, String(fixable.seq))).rejects.toThrow();

    truth.set(sms, 'delivered');
    await expectReportEquals(system, id, truth);
    const detail = await fetch(`${system.reportingUrl}/api/v1/delivery-records/${sms}`, {
      headers: { authorization: `Bearer ${system.operatorToken}` },
      signal: AbortSignal.timeout(30_000),
    });
    const { timeline } = (await detail.json()) as { timeline: { provider: string; status: string }[] };
    expect(timeline.filter((e) => e.provider === 'twilio').map((e) => e.status)).toEqual(['delivered']);

    // Only the poison is left; nothing was sent (no sends here).
    const left = await deadLetters(NATS_URL, system.namespace);
    expect(left.map((l) => `${l.consumer} ${l.originalSubject}`)).toEqual([
      `${consumerNames.callbackRaw} ${raw('simulator')}`,
    ]);
    expect((await outbox(system)).size).toBe(0);
  }, 600_000);
});
