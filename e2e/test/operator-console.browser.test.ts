// An operator drives the console in real Chromium: sign in, create, paste recipients (one bad row
// gets its error), preview, send, and resend to the undelivered; the Delivery Report's REST API
// then shows attempt 2 on exactly the records that were resent.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, seriousViolations } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, REPO_ROOT, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

interface RecordView {
  id: string;
  channel: string;
  recipientName: string;
  status: string;
  attempt: number;
}

let system: RunningSystem;
let browser: Browser;
let consoleUrl: string;

async function records(id: string): Promise<RecordView[]> {
  const res = await fetch(`${system.reportingUrl}/api/v1/communications/${id}/delivery-records?limit=1000`, {
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  if (!res.ok) throw new Error(`delivery records: ${res.status}`);
  return ((await res.json()) as { records: RecordView[] }).records;
}

/** Runs axe-core on the page: no serious or critical violations. */
async function expectAccessible(page: Page): Promise<void> {
  expect((await seriousViolations(page)).map((v) => v.id)).toEqual([]);
}

beforeAll(async () => {
  system = await startE2eSystem('console');
  consoleUrl = system.httpUrls.communication;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (system) {
    const codes = await system.stop();
    expect(Object.values(codes).every((c) => c === 0)).toBe(true);
  }
});

describe('the operator console', () => {
  it('creates, adds recipients, previews, sends and resends to the undelivered', async () => {
    // bypassCSP only so the test can inject axe-core; the pages themselves allow no scripts.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();

    // Signing in.
    await page.goto(`${consoleUrl}/console`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('Token').fill(system.operatorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console');

    // Creating a draft.
    await page.getByRole('link', { name: 'Create a communication' }).click();
    await page.getByLabel('Title').fill('Flash flood warning');
    await page.getByLabel('Email subject').fill('Flash flood warning');
    await page.getByLabel('Email body').fill('Move to higher ground now.');
    await page.getByLabel('SMS text').fill('Flash flood warning: move to higher ground now.');
    await page.getByRole('button', { name: 'Create draft' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Draft created.');
    const id = /\/console\/communications\/(c_[\w-]+)/.exec(page.url())![1]!;
    await expectAccessible(page);

    // Pasting recipients: one bad row is reported with its row number, and nothing is added.
    // Magic addresses decide the simulator's outcome: Ann is delivered on both channels; Bob's email
    // bounces temporarily; Eve's email is rejected (Not Sent).
    const rows = [
      'name,email,phone',
      'Ann,delivered.ann@example.org,+61400009991',
      'Bob,bounce.bob@example.org,',
      'Eve,reject.eve@example,',
    ];
    await page.getByLabel('Paste recipients').fill(rows.join('\n'));
    await page.getByRole('button', { name: 'Add recipients' }).click();
    const errors = page.getByRole('alert');
    await expect.poll(() => errors.textContent()).toContain('No recipients were added: 1 problem(s)');
    const errorRow = await errors.locator('tbody tr').allTextContents();
    expect(errorRow).toEqual(['4emailnot a valid email address']);
    await expectAccessible(page);

    rows[3] = 'Eve,reject.eve@example.org,';
    await page.getByLabel('Paste recipients').fill(rows.join('\n'));
    await page.getByRole('button', { name: 'Add recipients' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('3 recipient row(s) added.');

    // The preview: who gets which channel and who will not, and the SMS segment count.
    await page.getByRole('link', { name: 'Delivery preview', exact: true }).click();
    await expect.poll(() => page.locator('h1').textContent()).toContain('Delivery preview');
    const preview = await page.locator('main').textContent();
    expect(preview).toContain('3 recipients');
    expect(preview).toMatch(/1 segment\s+per SMS recipient/);
    const outcomes = await page.locator('section[aria-labelledby="rec-h"] tbody tr').allTextContents();
    expect(outcomes.find((r) => r.startsWith('Bob'))).toContain('Not sent: no address');
    expect(outcomes.find((r) => r.startsWith('Ann'))).toContain('Will be sent');
    await expectAccessible(page);
    mkdirSync(join(REPO_ROOT, 'test-results/screenshots'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-results/screenshots/console-preview.png'), fullPage: true });

    // Sending (from the preview).
    await page.getByRole('link', { name: /Send to 4 delivery records/ }).click();
    await page.getByRole('button', { name: 'Confirm: send now' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Sending started.');
    const reportLink = page.getByRole('link', { name: 'Delivery Report' });
    expect(await reportLink.getAttribute('href')).toBe(`${system.reportingUrl}/communications/${id}`);

    const settled = await eventually(async () => {
      const list = await records(id);
      expect(list).toHaveLength(4);
      expect(list.filter((r) => r.status === 'pending' || r.status === 'sent')).toEqual([]);
      return list;
    }, 90_000);
    const undelivered = settled
      .filter((r) => r.status !== 'delivered')
      .map((r) => r.id)
      .sort();
    expect(
      settled
        .filter((r) => r.status !== 'delivered')
        .map((r) => r.recipientName)
        .sort(),
    ).toEqual(['Bob', 'Eve']);

    // Resend to the not-yet-delivered, from the communication page once the send has finished.
    await eventually(async () => {
      await page.reload();
      expect(await page.getByRole('heading', { name: 'Resend' }).count()).toBe(1);
    }, 30_000);
    await page.getByLabel('Records not yet Delivered').check();
    await page.getByLabel('Your name').fill('Duty officer Lee');
    await page.getByRole('button', { name: 'Resend' }).click();
    // The resend runs in the background; the page refreshes itself until it has finished.
    await expect
      .poll(() => page.locator('#resend-progress').textContent(), { timeout: 30_000, interval: 500 })
      .toContain('finished: 2 delivery record(s) got a new attempt.');
    await expectAccessible(page);
    await page.screenshot({ path: join(REPO_ROOT, 'test-results/screenshots/console-resent.png'), fullPage: true });

    // The Delivery Report shows attempt 2 on the resent records, attempt 1 on the others.
    await eventually(async () => {
      const list = await records(id);
      expect(
        list
          .filter((r) => r.attempt === 2)
          .map((r) => r.id)
          .sort(),
      ).toEqual(undelivered);
      expect(list.filter((r) => r.attempt === 1).map((r) => r.recipientName)).toEqual(['Ann', 'Ann']);
    }, 60_000);

    // Ann's message history, one query away.
    await page.goto(
      `${consoleUrl}/console/recipients?key=${encodeURIComponent('e:delivered.ann@example.org|p:+61400009991')}`,
    );
    const history = await page.locator('tbody tr').allTextContents();
    expect(history).toHaveLength(2);
    expect(history.every((r) => r.includes('Flash flood warning') && r.includes('Delivered'))).toBe(true);
    await context.close();
  });
});
