// An admin in real Chromium finds a suppressed address (a permanent bounce at the simulator), lifts
// it from the Suppressions page with a reason, and sees the lift in the Audit log with who did it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  Channel,
  CommunicationServiceClient,
  ListSuppressionsRequest,
  type ListSuppressionsResponse,
} from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { launchChromium, seriousViolations } from './browser.js';
import { startE2eSystem } from './system.js';

let system: RunningSystem;
let browser: Browser;
let api: CommunicationApi;
let grpc: CommunicationServiceClient;

const ADDRESS = 'failed.grace@example.org';

function suppressed(): Promise<ListSuppressionsResponse> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${system.operatorToken}`);
  return new Promise((resolve, reject) =>
    grpc.listSuppressions(
      ListSuppressionsRequest.fromPartial({ address: ADDRESS, channel: Channel.CHANNEL_EMAIL }),
      md,
      (e: ServiceError | null, r: ListSuppressionsResponse) => (e ? reject(e) : resolve(r)),
    ),
  );
}

async function expectAccessible(page: Page): Promise<void> {
  expect((await seriousViolations(page)).map((v) => v.id)).toEqual([]);
}

beforeAll(async () => {
  system = await startE2eSystem('controls-browser');
  api = communicationClient(system.communicationGrpc, system.operatorToken);
  grpc = new CommunicationServiceClient(system.communicationGrpc, credentials.createInsecure());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  api?.close();
  grpc?.close();
  if (system) await system.stop();
});

describe('suppressions and the audit log in the console', () => {
  it('finds a suppressed address, lifts it, and shows the lift in the audit log', async () => {
    const created = await api.create({
      title: 'Boil water notice',
      emailSubject: 'Boil water',
      emailBody: 'Boil tap water before drinking.',
      smsText: '',
      channels: [Channel.CHANNEL_EMAIL],
      acknowledgementRequested: false,
      responseOptions: [],
    });
    const id = created.communication!.id;
    await api.addRecipients({
      communicationId: id,
      recipients: [{ externalId: '', name: 'Grace', email: ADDRESS, phone: '' }],
    });
    await api.send({ communicationId: id });
    // The simulator bounces it permanently: communication's suppression replica gets the address.
    await eventually(async () => expect((await suppressed()).suppressions).toHaveLength(1), 60_000, 250);

    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${system.httpUrls.communication}/console`);
    await page.getByLabel('Token').fill(system.operatorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console');

    await page.getByRole('link', { name: 'Suppressions' }).click();
    await page.getByLabel('Email address or phone number').fill('  Failed.Grace@EXAMPLE.org ');
    await page.getByRole('button', { name: 'Search' }).click();
    const table = page.getByRole('table');
    await expect.poll(() => table.textContent()).toContain('Permanent bounce');
    expect(await table.textContent()).toContain(id);
    await expectAccessible(page);

    await page.getByLabel('Your name').fill('Duty officer');
    await page.getByLabel('Reason').fill('mailbox fixed, confirmed by phone');
    await page.getByRole('button', { name: 'Lift suppression' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('The suppression is lifted');
    expect((await suppressed()).suppressions).toHaveLength(0);

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').selectOption('lift');
    await page.getByRole('button', { name: 'Filter' }).click();
    const log = page.getByRole('table');
    await expect.poll(() => log.textContent()).toContain('mailbox fixed, confirmed by phone');
    // Signed in through the form: the caller is the session of the admin token.
    expect(await log.textContent()).toContain('session:admin-token');
    expect(await log.textContent()).not.toContain('grace');
    await expectAccessible(page);
    await context.close();
  });
});
