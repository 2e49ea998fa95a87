// An operator watches the Delivery Report in real Chromium while a communication goes out: rows turn
// from Pending to later statuses without a reload, filters, Copy IDs (the clipboard), CSV export, a
// record's timeline; then the Message Delivery Report with a date filter. Screenshots of both reports
// go to test-results/screenshots/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Channel, CreateCommunicationRequest } from '@dlr/contracts';
import { communicationClient, eventually, REPO_ROOT, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eSystem } from './system.js';

let system: RunningSystem;
let api: CommunicationApi;
let browser: Browser;
const screenshots = join(REPO_ROOT, 'test-results', 'screenshots');

async function apiText(path: string): Promise<string> {
  const res = await fetch(`${system.reportingUrl}${path}`, {
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  if (!res.ok) throw new Error(`GET ${path} → ${res.status}`);
  return res.text();
}

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  system = await startE2eSystem('reports', {
    // Slow enough callbacks that an operator (the test) sees Sent before the final status.
    simulatorDelayMs: 1_500,
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  api?.close();
  await system?.stop();
});

async function signIn(page: Page, path: string): Promise<void> {
  await page.goto(`${system.reportingUrl}${path}`);
  // Not signed in: the report sends the browser to the sign-in form, which comes back here.
  await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
  await page.fill('#token', system.operatorToken);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => url.pathname === path);
}

/** The values of one attribute on every element the selector finds. */
async function attrs(page: Page, selector: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const el of await page.locator(selector).all()) out.push((await el.getAttribute(name)) ?? '');
  return out;
}

const statuses = (page: Page) => attrs(page, '#records tbody tr', 'data-status');

describe('the reports, driven like an operator', () => {
  it('watches a communication go out live, filters, copies IDs, exports CSV, opens a timeline', async () => {
    const created = await api.create(
      CreateCommunicationRequest.fromPartial({
        title: 'Browser test: flood warning',
        emailSubject: 'Flood warning',
        emailBody: 'Move to higher ground.',
        smsText: 'Flood warning: move to higher ground.',
        channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
        acknowledgementRequested: true,
      }),
    );
    const id = created.communication!.id;
    const people = ['Ann', 'Bob', 'Cat', 'Dan', 'Eve', 'Fay'];
    const outcome = ['delivered', 'delivered', 'bounce', 'failed', 'delivered', 'reject'];
    await api.addRecipients({
      communicationId: id,
      recipients: people.map((name, i) => ({
        externalId: '',
        name,
        email: `${outcome[i]}.${name.toLowerCase()}@example.org`,
        phone: `+614000${String(i).padStart(4, '0')}1`,
      })),
    });

    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: system.reportingUrl });
    const page = await context.newPage();
    await signIn(page, `/communications/${id}`);

    // Records appear Pending as soon as recipients are added (the page updates itself).
    await expect.poll(() => statuses(page), { timeout: 30_000 }).toHaveLength(12);
    expect(new Set(await statuses(page))).toEqual(new Set(['pending']));
    await expect.poll(() => page.textContent('#live-status')).toContain('Live');

    // A marker on the window survives only if the page is never reloaded.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    await api.send({ communicationId: id });
    await expect
      .poll(async () => (await statuses(page)).filter((s) => s !== 'pending' && s !== 'sent').length, {
        timeout: 60_000,
      })
      .toBe(12);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    const pendingCount = await page.textContent('li.count[data-status="pending"] strong');
    expect(pendingCount).toBe('0');
    await page.screenshot({ path: join(screenshots, 'delivery-report.png'), fullPage: true });

    // Filter: Delivered only (a form GET; the table shows only those rows).
    await page.check('input[name=status][value=delivered]');
    await page.click('#apply-filters');
    await page.waitForURL((url) => url.search.includes('status=delivered'));
    const delivered = await statuses(page);
    expect(delivered.length).toBeGreaterThan(0);
    expect(new Set(delivered)).toEqual(new Set(['delivered']));

    // Copy IDs copies every matching ID.
    await page.click('#copy-ids');
    await expect.poll(() => page.textContent('#notice')).toMatch(/^Copied \d+ IDs/);
    const clipboard = await page.evaluate(() =>
      (
        globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
      ).navigator.clipboard.readText(),
    );
    const expectedIds = (await apiText(`/api/v1/communications/${id}/delivery-record-ids?status=delivered`)).trim();
    expect(clipboard.trim()).toBe(expectedIds);
    expect(clipboard.trim().split('\n').sort()).toEqual((await attrs(page, '#records tbody tr', 'data-id')).sort());

    // CSV export of the filtered rows.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csv = readFileSync(await download.path(), 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(csv[0]).toMatch(/^id,communication_id,recipient,/);
    expect(
      csv
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
    ).toEqual(expectedIds.split('\n').sort());
    expect(csv.slice(1).every((l) => l.includes(',delivered,Delivered,'))).toBe(true);

    // A record's timeline, in a dialog.
    await page.click('#records tbody tr:first-child a.record-link');
    await expect.poll(() => page.isVisible('#timeline')).toBe(true);
    const events = await attrs(page, '#timeline tbody tr td[data-status]', 'data-status');
    expect(events).toEqual(expect.arrayContaining(['sent', 'delivered']));
    await page.screenshot({ path: join(screenshots, 'delivery-report-timeline.png') });
    await page.keyboard.press('Escape');

    // The link to the Message Delivery Report, then a date filter there.
    await page.click('#mdr-link');
    await page.waitForURL((url) => url.pathname === '/reports/messages');
    const today = new Date().toISOString().slice(0, 10);
    await page.fill('input[name=from]', today);
    await page.fill('input[name=to]', today);
    await page.click('#apply-filters');
    await page.waitForURL((url) => url.search.includes(`from=${today}`));
    expect(await page.textContent('#grand-total')).toBe('12 records');
    expect(await page.locator('#records tbody tr').count()).toBe(12);
    await page.screenshot({ path: join(screenshots, 'message-delivery-report.png'), fullPage: true });

    await page.fill('input[name=from]', '2001-01-01');
    await page.fill('input[name=to]', '2001-01-31');
    await page.click('#apply-filters');
    await page.waitForURL((url) => url.search.includes('from=2001-01-01'));
    expect(await page.textContent('#grand-total')).toBe('0 records');
    await eventually(async () => expect(await page.isVisible('#empty')).toBe(true));
    await context.close();
  });
});
