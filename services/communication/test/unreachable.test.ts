// A recipient the communication cannot reach on any channel (no address, or opted out of every
// channel) is kept: announced to reporting and given a send request that tells dispatch to record
// Not Sent `no_address` / `preference`, so the report shows exactly the people nobody reached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryOutcome } from '@dlr/contracts';
import { eventually } from '@dlr/testing';
import { recipientsAdded, sendRequests, startHarness, type Harness } from './helpers.js';

let h: Harness;
let c: Harness['api'];

beforeAll(async () => {
  h = await startHarness('communreach');
  c = h.api;
});
afterAll(async () => {
  await h?.stop();
});

const content = {
  title: 'Evacuate now',
  emailSubject: 'Evacuate now',
  emailBody: 'Leave towards the north.',
  smsText: 'Evacuate now: leave towards the north.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: false,
  responseOptions: [],
};

const recipients = [
  { externalId: '', name: 'Ann', email: 'ann.reach@example.org', phone: '', optedOutChannels: [] },
  { externalId: 'resident-17', name: 'No Contact', email: '', phone: '', optedOutChannels: [] },
  {
    externalId: '',
    name: 'Opted Out',
    email: 'opted.reach@example.org',
    phone: '+61400555666',
    optedOutChannels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  },
];

async function draftWithRecipients() {
  const id = (await c.createCommunication(content)).communication!.id;
  const added = await c.addRecipients({ communicationId: id, recipients });
  return { id, added };
}

async function requestsOf(id: string, count: number) {
  return eventually(async () => {
    const mine = (await sendRequests(h)).filter((r) => r.communicationId === id);
    expect(mine).toHaveLength(count);
    return new Map(mine.map((r) => [`${r.recipientName}/${r.channel}`, r]));
  });
}

describe('recipients unreachable on every channel', () => {
  it('are announced and sent as Not Sent no_address / preference, one record each', async () => {
    const { id, added } = await draftWithRecipients();
    // Ann: email only; No Contact: one record without an address; Opted Out: both channels kept.
    expect(added.deliveries.map((d) => [d.recipientIndex, d.channel])).toEqual([
      [0, Channel.CHANNEL_EMAIL],
      [1, Channel.CHANNEL_EMAIL],
      [2, Channel.CHANNEL_EMAIL],
      [2, Channel.CHANNEL_SMS],
    ]);
    const announced = (await recipientsAdded(h)).filter((e) => e.communicationId === id).flatMap((e) => e.deliveries);
    expect(announced.map((d) => [d.recipientName, d.channel, d.address]).sort()).toEqual(
      [
        ['Ann', Channel.CHANNEL_EMAIL, 'ann.reach@example.org'],
        ['No Contact', Channel.CHANNEL_EMAIL, ''],
        ['Opted Out', Channel.CHANNEL_EMAIL, 'opted.reach@example.org'],
      ].sort(),
    );
    const preview = await c.previewDelivery({ communicationId: id, pageSize: 0, pageToken: '' });
    const outcomes = Object.fromEntries(preview.recipients.map((r) => [r.name, r.channels.map((x) => x.outcome)]));
    expect(outcomes['No Contact']).toEqual([
      DeliveryOutcome.DELIVERY_OUTCOME_MISSING_ADDRESS,
      DeliveryOutcome.DELIVERY_OUTCOME_MISSING_ADDRESS,
    ]);

    await c.sendCommunication({ communicationId: id });
    const sent = await requestsOf(id, 3);
    expect(sent.get(`Ann/${Channel.CHANNEL_EMAIL}`)?.notSentReason).toBe('');
    expect(sent.get(`No Contact/${Channel.CHANNEL_EMAIL}`)).toMatchObject({ notSentReason: 'no_address', address: '' });
    expect(sent.get(`Opted Out/${Channel.CHANNEL_EMAIL}`)?.notSentReason).toBe('preference');
  });

  it('under an override, a recipient who opted out of every channel is sent to on each', async () => {
    const { id } = await draftWithRecipients();
    await c.overridePreferences({ communicationId: id, operator: 'Duty officer', reason: 'Evacuation' });
    await c.sendCommunication({ communicationId: id });
    const sent = await requestsOf(id, 4);
    expect(sent.get(`Opted Out/${Channel.CHANNEL_EMAIL}`)?.notSentReason).toBe('');
    expect(sent.get(`Opted Out/${Channel.CHANNEL_SMS}`)?.notSentReason).toBe('');
    expect(sent.get(`No Contact/${Channel.CHANNEL_EMAIL}`)?.notSentReason).toBe('no_address');
  });

  it('still refuses a row with nothing to identify or reach the person', async () => {
    const id = (await c.createCommunication(content)).communication!.id;
    await expect(
      c.addRecipients({
        communicationId: id,
        recipients: [{ externalId: '', name: ' ', email: '', phone: '', optedOutChannels: [] }],
      }),
    ).rejects.toMatchObject({ details: expect.stringContaining('none were added') });
  });
});
