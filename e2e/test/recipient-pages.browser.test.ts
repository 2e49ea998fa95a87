import type { Browser } from 'playwright-core';
import { launchChromium, seriousViolations } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

const PHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

let system: RunningSystem;
let api: CommunicationApi;
let browser: Browser;

async function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return (await res.json()) as T;
}

interface RecordView {
  status: string;
  statusLabel: string;
  response: string;
}
const record = async (id: string) =>
  (
    await getJson<{ record: RecordView }>(`${system.reportingUrl}/api/v1/delivery-records/${id}`, {
      authorization: `Bearer ${system.operatorToken}`,
    })
  ).record;
const outbox = (deliveryId: string) =>
  getJson<{ messages: { body: string; channel: string }[] }>(
    `${system.simulatorUrl}/v1/messages?deliveryId=${encodeURIComponent(deliveryId)}`,
    { authorization: `Bearer ${system.simulatorApiKey}` },
  );

/** Creates, fills and sends a communication; returns its one delivery ID. */
async function sendOne(
  input: { channel: Channel; responseOptions: string[]; smsText: string; emailBody: string },
  recipient: { email: string; phone: string },
): Promise<string> {
  const created = await api.create({
    title: 'Flood warning for Riverside',
    emailSubject: 'Flood warning',
    emailBody: input.emailBody,
    smsText: input.smsText,
    channels: [input.channel],
    acknowledgementRequested: true,
    responseOptions: input.responseOptions,
  });
  const id = created.communication!.id;
  const added = await api.addRecipients({
    communicationId: id,
    recipients: [{ externalId: '', name: 'Ann', ...recipient }],
  });
  await api.send({ communicationId: id });
  return added.deliveries[0]!.deliveryId;
}

beforeAll(async () => {
  system = await startE2eSystem('pages', {
    // The test's clicks come well after the send; the time rule is covered by feedback-link's tests.
    extraEnv: { 'feedback-link': { LINK_BOT_WINDOW_SECONDS: '0' } },
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  api?.close();
  if (system) await system.stop();
});

describe('recipient pages in a real browser', () => {
  it('a recipient acknowledges by SMS and responds by email; the report shows it', async () => {
    const smsDelivery = await sendOne(
      {
        channel: Channel.CHANNEL_SMS,
        responseOptions: [],
        smsText: 'Flood warning: move to higher ground now.',
        emailBody: 'unused',
      },
      { email: '', phone: '+61400009991' },
    );
    const emailDelivery = await sendOne(
      {
        channel: Channel.CHANNEL_EMAIL,
        responseOptions: ['I am safe', 'I need help'],
        smsText: '',
        emailBody: 'The river is rising. <script>window.__pwned = 1</script> Tell us how you are.',
      },
      { email: 'delivered.ann@example.org', phone: '' },
    );

    const sms = await eventually(
      async () => {
        const o = await outbox(smsDelivery);
        expect(o.messages, 'the SMS').toHaveLength(1);
        return o;
      },
      60_000,
      250,
    );
    const smsLink = /(https?:\/\/\S+\/s\/[0-9A-Za-z]{10})$/.exec(sms.messages[0]!.body)?.[1];
    expect(smsLink).toBeDefined();
    expect(smsLink!.length).toBeLessThanOrEqual(40);
    expect(sms.messages[0]!.body.length).toBeLessThanOrEqual(160);
    const email = await eventually(
      async () => {
        const o = await outbox(emailDelivery);
        expect(o.messages, 'the email').toHaveLength(1);
        return o;
      },
      60_000,
      250,
    );
    const respondLink = /^Respond: (\S+)$/m.exec(email.messages[0]!.body)?.[1];
    expect(respondLink).toBeDefined();
    expect(email.messages[0]!.body).toMatch(/^To stop receiving these messages: \S+\/u\/\S+$/m);

    const context = await browser.newContext({
      userAgent: PHONE_UA,
      viewport: { width: 390, height: 844 },
      // The pages' CSP (default-src 'none') would block the injected axe-core script.
      bypassCSP: true,
    });
    const page = await context.newPage();

    // SMS acknowledge link: the message and the button; opening it changes nothing.
    await page.goto(smsLink!);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Acknowledge this message');
    expect(await page.locator('main').textContent()).toContain('Flood warning: move to higher ground now.');
    expect(await seriousViolations(page)).toEqual([]);
    expect((await record(smsDelivery)).statusLabel).not.toBe('Acknowledged');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.waitForLoadState();
    expect(await page.locator('h1').textContent()).toContain('your acknowledgement has been recorded');
    expect(await seriousViolations(page)).toEqual([]);
    const acked = await eventually(
      async () => {
        const r = await record(smsDelivery);
        expect(r.statusLabel).toBe('Acknowledged');
        return r;
      },
      60_000,
      250,
    );
    expect(acked.response).toBe('Acknowledged');

    // Email response link: the text (its script inert), one button per option.
    await page.goto(respondLink!);
    expect(await page.locator('h1').textContent()).toBe('Respond to this message');
    expect(await page.locator('main').textContent()).toContain('<script>window.__pwned = 1</script>');
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.getByRole('button', { name: 'I am safe' }).isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'I need help' }).click();
    await page.waitForLoadState();
    expect(await page.locator('h1').textContent()).toContain('your response “I need help” has been recorded');
    const responded = await eventually(
      async () => {
        const r = await record(emailDelivery);
        expect(r.statusLabel).toBe('Responded');
        return r;
      },
      60_000,
      250,
    );
    expect(responded.response).toBe('I need help');

    // A repeat visit shows what was recorded, and the answer can change.
    await page.goto(respondLink!);
    expect(await page.locator('h1').textContent()).toBe('Your response: I need help');
    await page.getByRole('button', { name: /I am safe/ }).click();
    await page.waitForLoadState();
    await eventually(
      async () => {
        const r = await record(emailDelivery);
        expect(r.response, 'the changed response').toBe('I am safe');
        return r;
      },
      60_000,
      250,
    );
    await context.close();
  });
});
