// Recipient history by what operators know (issue 17 item 4), on real NATS and the real store: by
// email (any case), phone (any format, national with the default region) or external ID, over gRPC
// and on the console page, each entry with title, channel, status and response from reporting.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CommunicationState, DeliveryStatus, type RecipientHistoryEntry } from '@dlr/contracts';
import { eventually } from '@dlr/testing';
import { grpcError, OPERATOR_TOKEN, sendRequests, startHarness, type Harness } from './helpers.js';

let h: Harness;

const content = {
  emailSubject: 'Storm',
  emailBody: 'Stay inside.',
  smsText: 'Storm: stay inside.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: false,
  responseOptions: ['Safe', 'Need help'],
};

const none = { recipientKey: '', email: '', phone: '', externalId: '', pageSize: 0, pageToken: '' };
let first = '';
let second = '';

beforeAll(async () => {
  h = await startHarness('commhistory', { PHONE_DEFAULT_REGION: 'GB' });
  // Hana with an external ID in the first, and again without one (national phone format) in the second.
  const one = await h.api.createCommunication({ ...content, title: 'Storm warning' });
  first = one.communication!.id;
  await h.api.addRecipients({
    communicationId: first,
    recipients: [
      { externalId: 'p-hana', name: 'Hana', email: 'Hana@Example.org', phone: '+44 7911 123456', optedOutChannels: [] },
      { externalId: 'p-ivo', name: 'Ivo', email: 'ivo@example.org', phone: '', optedOutChannels: [] },
    ],
  });
  await h.api.sendCommunication({ communicationId: first });
  await eventually(async () =>
    expect((await h.api.getCommunication({ id: first })).communication!.state).toBe(
      CommunicationState.COMMUNICATION_STATE_SENT,
    ),
  );
  for (const r of (await sendRequests(h)).filter((s) => s.communicationId === first)) {
    h.board.set(
      r.deliveryId,
      r.channel === Channel.CHANNEL_SMS
        ? { communicationId: first, status: DeliveryStatus.DELIVERY_STATUS_RESPONDED, response: 'Safe' }
        : { communicationId: first, status: DeliveryStatus.DELIVERY_STATUS_DELIVERED },
    );
  }
  const two = await h.api.createCommunication({ ...content, title: 'Storm all clear' });
  second = two.communication!.id;
  await h.api.addRecipients({
    communicationId: second,
    recipients: [{ externalId: '', name: 'Hana', email: '', phone: '07911 123456', optedOutChannels: [] }],
  });
});
afterAll(async () => {
  await h?.stop();
});

const shape = (entries: RecipientHistoryEntry[]) =>
  entries.map((e) => [e.title, e.channel, e.status, e.response, e.statusKnown]);

describe('GetRecipientHistory by what operators know', () => {
  it('finds the same person by a phone number in any format, with statuses and responses', async () => {
    const a = await h.api.getRecipientHistory({ ...none, phone: '+44 7911 123456' });
    const b = await h.api.getRecipientHistory({ ...none, phone: '07911123456' });
    expect(shape(a.entries)).toEqual(shape(b.entries));
    // Newest first: the draft (not sent, no record in reporting yet), then the sent one.
    expect(shape(a.entries.slice(0, 1))).toEqual([
      ['Storm all clear', Channel.CHANNEL_SMS, DeliveryStatus.DELIVERY_STATUS_UNSPECIFIED, '', false],
    ]);
    expect(a.entries).toHaveLength(3);
    expect(shape(a.entries.slice(1))).toEqual(
      expect.arrayContaining([
        ['Storm warning', Channel.CHANNEL_EMAIL, DeliveryStatus.DELIVERY_STATUS_DELIVERED, '', true],
        ['Storm warning', Channel.CHANNEL_SMS, DeliveryStatus.DELIVERY_STATUS_RESPONDED, 'Safe', true],
      ]),
    );
  });

  it('finds by email in any case and by external ID', async () => {
    const byEmail = await h.api.getRecipientHistory({ ...none, email: 'HANA@example.ORG' });
    const byId = await h.api.getRecipientHistory({ ...none, externalId: 'p-hana' });
    expect(shape(byEmail.entries).sort()).toEqual(shape(byId.entries).sort());
    expect(byId.entries.map((e) => e.communicationId)).toEqual([first, first]);
    const ivo = await h.api.getRecipientHistory({ ...none, email: 'ivo@example.org' });
    expect(shape(ivo.entries)).toEqual([
      ['Storm warning', Channel.CHANNEL_EMAIL, DeliveryStatus.DELIVERY_STATUS_DELIVERED, '', true],
    ]);
    expect((await h.api.getRecipientHistory({ ...none, email: 'nobody@example.org' })).entries).toEqual([]);
  });

  it('refuses a bad or missing search with INVALID_ARGUMENT', async () => {
    for (const bad of [
      { ...none },
      { ...none, phone: '12' },
      { ...none, email: 'not-an-email' },
      { ...none, email: 'a@example.org', phone: '07911123456' },
    ]) {
      expect((await grpcError(h.api.getRecipientHistory(bad))).code).toBe(status.INVALID_ARGUMENT);
    }
  });
});

describe('the console page', () => {
  it('shows each message with title, channel, status and response, found by phone', async () => {
    const res = await fetch(
      `${h.service.httpUrl}/console/recipients?by=phone&q=${encodeURIComponent('07911 123456')}`,
      {
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      },
    );
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Storm warning');
    expect(page).toContain('Storm all clear');
    expect(page).toContain('Responded');
    expect(page).toContain('Safe');
    expect(page).toContain('Delivered');
    expect(page).toContain('Draft: not sent yet');
    const bad = await fetch(`${h.service.httpUrl}/console/recipients?by=phone&q=12`, {
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect(bad.status).toBe(400);
  });
});
