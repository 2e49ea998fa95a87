// An email opened as a mail client would: taken from the simulator's outbox as RFC 5322, parsed with
// mailparser, its HTML part rendered in Chromium, which loads the open pixel → Read on the report.
import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '@dlr/contracts';
import { connectMongo, createLogger } from '@dlr/platform';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { launchChromium, seriousViolations } from './browser.js';
import { startE2eSystem } from './system.js';

// A desktop mail client's engine; headless Chromium's own User-Agent ("HeadlessChrome") is a scanner's.
const DESKTOP_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** feedback-link's bot window (its default): pixel hits this soon after the send are taken for prefetches. */
const BOT_WINDOW_SECONDS = 5;

let system: RunningSystem;
let api: CommunicationApi;
let browser: Browser;

const simulator = (path: string) =>
  fetch(`${system.simulatorUrl}${path}`, { headers: { authorization: `Bearer ${system.simulatorApiKey}` } });

async function record(id: string): Promise<{ status: string; statusLabel: string }> {
  const res = await fetch(`${system.reportingUrl}/api/v1/delivery-records/${id}`, {
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  if (!res.ok) throw new Error(`record ${id} → ${res.status}`);
  return ((await res.json()) as { record: { status: string; statusLabel: string } }).record;
}

async function signIn(page: Page, path: string): Promise<void> {
  await page.goto(`${system.reportingUrl}${path}`);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
  await page.fill('#token', system.viewerToken);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => url.pathname === path);
}

beforeAll(async () => {
  system = await startE2eSystem('html', {
    extraEnv: { 'feedback-link': { LINK_BOT_WINDOW_SECONDS: String(BOT_WINDOW_SECONDS) } },
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  api?.close();
  if (system) await system.stop();
});

describe('HTML email in a real browser', () => {
  it('is multipart/alternative, accessible in light and dark; a prefetch of its pixel is flagged, an open makes the record Read', async () => {
    const created = await api.create({
      title: 'Flood warning for Riverside',
      emailSubject: 'Flood warning: move to higher ground',
      emailBody: 'Dear {{name}},\n\nThe river is rising.\nMove to higher ground now.\n\nBring <medicines> & documents.',
      smsText: '',
      channels: [Channel.CHANNEL_EMAIL],
      acknowledgementRequested: true,
      responseOptions: ['I am safe', 'I need help'],
    });
    const communicationId = created.communication!.id;
    const added = await api.addRecipients({
      communicationId,
      recipients: [{ externalId: 'r-1', name: 'Ann', email: 'delivered.ann@example.org', phone: '' }],
    });
    const deliveryId = added.deliveries[0]!.deliveryId;
    await api.send({ communicationId });

    // The message, from the outbox, as a mail client receives it.
    const sent = await eventually(
      async () => {
        const res = await simulator(`/v1/messages?deliveryId=${encodeURIComponent(deliveryId)}`);
        const { messages } = (await res.json()) as { messages: { messageId: string; acceptedAt: string }[] };
        expect(messages, 'the email in the outbox').toHaveLength(1);
        return messages[0]!;
      },
      60_000,
      250,
    );
    const raw = await simulator(`/v1/messages/${sent.messageId}/raw`);
    expect(raw.status).toBe(200);
    const mail = await simpleParser(Buffer.from(await raw.arrayBuffer()));
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(mail.subject).toBe('Flood warning: move to higher ground');
    expect(mail.text).toContain('Bring <medicines> & documents.');
    expect(mail.text).toMatch(/^Dear Ann,$/m);
    expect(mail.text).toMatch(/^Respond: \S+\/a\/\S+$/m);
    expect(mail.text).toMatch(/^To stop receiving these messages: \S+\/u\/\S+$/m);
    const htmlPart = mail.html;
    expect(htmlPart).toEqual(expect.any(String));
    const pixelUrl = /<img src="([^"]+\/o\/[^"]+)" alt="" width="1" height="1"/.exec(htmlPart as string)?.[1];
    expect(pixelUrl, 'the open pixel').toBeDefined();
    expect(pixelUrl!.startsWith(system.httpUrls['feedback-link'])).toBe(true);

    // A privacy proxy fetching the images on arrival, inside the bot window: flagged, not an open. (The
    // token's issuedAt is whole seconds before the send: the window is at least BOT_WINDOW_SECONDS - 1.)
    expect(Date.now() - Date.parse(sent.acceptedAt), 'time left for the prefetch').toBeLessThan(
      (BOT_WINDOW_SECONDS - 1) * 1000,
    );
    expect((await fetch(pixelUrl!, { headers: { 'user-agent': DESKTOP_UA } })).status).toBe(200);
    const feedbackDb = await connectMongo({
      uri: process.env.MONGODB_URI!,
      dbName: `${system.namespace.replaceAll('-', '_')}_feedback`,
      logger: createLogger('html-email-test', 'silent'),
      appName: 'html-email-test',
    });
    const suspected = () =>
      feedbackDb.db.collection<{ _id: string; hits?: number; lastReason?: string }>('feedback').findOne({
        _id: `${deliveryId}:suspected`,
      });
    // The pixel answers after the hit is stored.
    expect(await suspected()).toMatchObject({ hits: 1, lastReason: 'too_soon' });

    // Delivered (the simulator's callback) and not Read, so Read below is the person's open.
    await eventually(async () => expect((await record(deliveryId)).statusLabel).toBe('Delivered'), 60_000, 250);
    // The pixel's token was minted before the send was accepted; a hit inside the bot window would be
    // taken for a prefetch (feedback-link's tests cover that rule), so the "person" opens it after.
    const windowEnds = Date.parse(sent.acceptedAt) + BOT_WINDOW_SECONDS * 1000 + 500;
    if (Date.now() < windowEnds) await new Promise((r) => setTimeout(r, windowEnds - Date.now()));

    const context = await browser.newContext({ userAgent: DESKTOP_UA, colorScheme: 'dark' });
    const page = await context.newPage();
    const pixelHit = page.waitForResponse((r) => r.url() === pixelUrl);
    await page.setContent(htmlPart as string, { waitUntil: 'load' });
    const pixel = await pixelHit;
    expect(pixel.status()).toBe(200);
    expect(pixel.headers()['content-type']).toBe('image/gif');

    // Accessible markup: language, heading, the text escaped, real link text, no serious axe finding.
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('Flood warning for Riverside');
    // The recipient's own text (merge fields filled by communication), in both parts.
    expect(await page.locator('p').first().innerText()).toBe('Dear Ann,');
    expect(await page.locator('p').nth(1).innerText()).toBe('The river is rising.\nMove to higher ground now.');
    expect(await page.getByText('Bring <medicines> & documents.').count()).toBe(1);
    for (const option of ['I am safe', 'I need help'])
      expect(await page.getByRole('link', { name: option }).getAttribute('href')).toMatch(/\/a\//);
    expect(await page.getByRole('link', { name: 'Stop receiving these messages' }).getAttribute('href')).toMatch(
      /\/u\//,
    );
    const colours = () =>
      page.locator('.wrap').evaluate((el) => {
        const style = (
          el.ownerDocument.defaultView as unknown as {
            getComputedStyle(e: unknown): {
              backgroundColor: string;
              color: string;
            };
          }
        ).getComputedStyle(el);
        return [style.backgroundColor, style.color];
      });
    expect(await colours()).toEqual(['rgb(18, 18, 18)', 'rgb(242, 242, 242)']);
    expect(await seriousViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await colours()).toEqual(['rgb(255, 255, 255)', 'rgb(26, 26, 26)']);
    expect(await seriousViolations(page)).toEqual([]);

    // After the bot window the pixel is the recipient's: Read on the record and on the Delivery Report.
    await eventually(async () => expect((await record(deliveryId)).statusLabel).toBe('Read'), 60_000, 250);
    expect(await suspected()).toMatchObject({ hits: 1 });
    await feedbackDb.close();
    const report = await context.newPage();
    await signIn(report, `/communications/${communicationId}`);
    await expect
      .poll(() => report.locator('li.count[data-status="read"] strong').textContent(), { timeout: 30_000 })
      .toBe('1');
    expect(await report.locator('#records tbody tr').first().getAttribute('data-status')).toBe('read');
    expect(await report.locator('#read-note').innerText()).toMatch(/missing.*blocked images.*early.*privacy proxy/s);
    await context.close();
  });
});
