// A sender in real Chromium fixes a draft (issue 17 items 2 and 4): edits it and sees the change,
// removes a recipient, gets a confirmation before Send that says how many people on which channels
// (nothing is sent until Confirm), deletes another draft, then finds a recipient by a national-format
// phone number and sees each message's status. The whole system, the simulator delivering.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CommunicationState } from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { launchChromium, seriousViolations } from './browser.js';
import { startE2eSystem } from './system.js';

let system: RunningSystem;
let browser: Browser;
let api: CommunicationApi;

interface RecordView {
  id: string;
  status: string;
}

async function records(id: string): Promise<RecordView[]> {
  const res = await fetch(`${system.reportingUrl}/api/v1/communications/${id}/delivery-records?limit=1000`, {
    headers: { authorization: `Bearer ${system.operatorToken}` },
  });
  if (!res.ok) throw new Error(`delivery records: ${res.status}`);
  return ((await res.json()) as { records: RecordView[] }).records;
}

async function expectAccessible(page: Page): Promise<void> {
  expect((await seriousViolations(page)).map((v) => v.id)).toEqual([]);
}

const content = {
  title: 'Bushfire warning',
  emailSubject: 'Bushfire warning',
  emailBody: 'Leave now.',
  smsText: 'Bushfire warning: leave now.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: false,
  responseOptions: [],
};

async function draft(title: string): Promise<string> {
  const { communication } = await api.create({ ...content, title });
  const id = communication!.id;
  await api.addRecipients({
    communicationId: id,
    recipients: [
      { externalId: '', name: 'Ann', email: 'delivered.ann@example.org', phone: '+61400009991' },
      { externalId: '', name: 'Bob', email: 'delivered.bob@example.org', phone: '+61400009992' },
    ],
  });
  return id;
}

beforeAll(async () => {
  system = await startE2eSystem('drafts-browser', { extraEnv: { communication: { PHONE_DEFAULT_REGION: 'AU' } } });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  api?.close();
  if (system) await system.stop();
});

describe('fixing a draft in the console', () => {
  it('edits, removes a recipient, confirms before Send, deletes a draft, and finds a recipient by phone', async () => {
    const id = await draft('Bushfire warnign');
    const other = await draft('Bushfire warning (duplicate)');
    const consoleUrl = system.httpUrls.communication;
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/console`);
    await page.getByLabel('Token').fill(system.operatorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console');

    // Edit: the form is prefilled; the change shows on the communication page.
    await page.goto(`${consoleUrl}/console/communications/${id}`);
    await page.getByRole('link', { name: 'Edit the message and channels' }).click();
    expect(await page.getByLabel('Title').inputValue()).toBe('Bushfire warnign');
    await expectAccessible(page);
    await page.getByLabel('Title').fill('Bushfire warning');
    await page.getByLabel('SMS text').fill('Bushfire warning: leave now via the coast road.');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Draft saved.');
    expect(await page.locator('h1').textContent()).toBe('Bushfire warning');
    await page.getByText('Message', { exact: true }).click();
    expect(await page.locator('main').textContent()).toContain('leave now via the coast road');

    // Remove Bob from the recipients list.
    await page.getByRole('link', { name: 'See and remove recipients' }).click();
    await page.getByRole('button', { name: 'Remove Bob' }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'removed' }).textContent())
      .toContain('2 delivery record(s) removed.');
    const rows = await page.locator('section[aria-labelledby="rec-h"] tbody tr').allTextContents();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('Ann');
    await expectAccessible(page);

    // The confirmation before Send: how many people on which channels; Back sends nothing.
    await page.getByRole('link', { name: 'Back to the communication' }).click();
    await page.getByRole('link', { name: /Send to 2 delivery records/ }).click();
    // The figures come from the preview's count (the page refreshes itself until it is done).
    const confirm = page.getByRole('button', { name: 'Confirm: send now' });
    await expect.poll(() => confirm.count(), { timeout: 30_000 }).toBe(1);
    const summary = await page.locator('main').textContent();
    expect(summary).toContain('1 recipient');
    expect(summary).toContain('Email: 1 person');
    expect(summary).toContain('SMS: 1 person');
    await expectAccessible(page);
    await page.getByRole('link', { name: 'Back: do not send' }).click();
    expect((await api.get({ id })).communication!.state).toBe(CommunicationState.COMMUNICATION_STATE_DRAFT);
    expect(await records(id)).toHaveLength(2); // Ann's two records, Pending; Bob's are gone
    await page.getByRole('link', { name: /Send to 2 delivery records/ }).click();
    await page.getByRole('button', { name: 'Confirm: send now' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Sending started.');

    // Delete the other draft, through its confirmation step.
    await page.goto(`${consoleUrl}/console/communications/${other}`);
    await page.getByRole('link', { name: 'Delete the draft…' }).click();
    await expectAccessible(page);
    await page.getByLabel('Reason (optional, kept in the audit log)').fill('duplicate of the warning');
    await page.getByRole('button', { name: 'Delete draft' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('The draft was deleted.');
    expect(await page.locator('main').textContent()).not.toContain('(duplicate)');
    await eventually(async () => expect(await records(other)).toEqual([]), 30_000, 250);

    // Ann's history by her phone number in national format: each message with its status.
    await eventually(
      async () => expect((await records(id)).map((r) => r.status)).toEqual(['delivered', 'delivered']),
      90_000,
      500,
    );
    await page.getByRole('link', { name: 'Recipient history' }).click();
    await page.getByLabel('Find by').selectOption('phone');
    await page.getByLabel('Email, phone or external ID').fill('0400 009 991');
    await page.getByRole('button', { name: 'Show history' }).click();
    const history = page.locator('#history tbody tr');
    await expect.poll(() => history.count()).toBe(2);
    const entries = await history.allTextContents();
    expect(entries.every((r) => r.includes('Bushfire warning') && r.includes('Delivered'))).toBe(true);
    expect(entries.map((r) => (r.includes('SMS') ? 'sms' : 'email')).sort()).toEqual(['email', 'sms']);
    await expectAccessible(page);
    await context.close();
  });
});
