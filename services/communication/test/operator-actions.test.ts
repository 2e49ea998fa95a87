import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CommunicationState, DeliveryOutcome, DeliveryStatus, ResendScope, SmsEncoding } from '@dlr/contracts';
import { eventually } from '@dlr/testing';
import { grpcError, recipientsAdded, sendRequests, startHarness, type Harness } from './helpers.js';

let h: Harness;
let c: Harness['api'];

beforeAll(async () => {
  h = await startHarness('commops');
  c = h.api;
});
afterAll(async () => {
  await h?.stop();
});

const content = {
  title: 'Bushfire: leave now',
  emailSubject: 'Bushfire emergency warning',
  emailBody: 'Leave now via the coast road.',
  smsText: 'Bushfire emergency warning: leave now via the coast road.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: true,
  responseOptions: ['Safe', 'Need help'],
};
const ann = { externalId: '', name: 'Ann', email: 'ann@example.org', phone: '+61400000001', optedOutChannels: [] };
const bob = { externalId: '', name: 'Bob', email: 'bob@example.org', phone: '', optedOutChannels: [] };
// Cat has both addresses but asked not to get SMS.
const cat = {
  externalId: 'p-cat',
  name: 'Cat',
  email: 'cat@example.org',
  phone: '+61400000003',
  optedOutChannels: [Channel.CHANNEL_SMS],
};

async function draft(recipients = [ann, bob, cat]) {
  const created = await c.createCommunication(content);
  const id = created.communication!.id;
  const added = await c.addRecipients({ communicationId: id, recipients });
  return { id, added };
}

/** The preview once its counts are complete (they are summarised in the background). */
const previewDone = (communicationId: string) =>
  eventually(async () => {
    const p = await c.previewDelivery({ communicationId, pageSize: 0, pageToken: '' });
    expect(p.progress?.finished).toBe(true);
    return p;
  });

const waitSent = (id: string) =>
  eventually(async () => {
    const got = await c.getCommunication({ id });
    expect(got.communication!.state).toBe(CommunicationState.COMMUNICATION_STATE_SENT);
  });

describe('ListCommunications', () => {
  it('lists newest first, in pages, and refuses a forged page token', async () => {
    const a = await c.createCommunication({ ...content, title: 'First' });
    const b = await c.createCommunication({ ...content, title: 'Second' });
    const page1 = await c.listCommunications({ pageSize: 1, pageToken: '' });
    expect(page1.communications.map((x) => x.id)).toEqual([b.communication!.id]);
    const page2 = await c.listCommunications({ pageSize: 1, pageToken: page1.nextPageToken });
    expect(page2.communications.map((x) => x.id)).toEqual([a.communication!.id]);
    const bad = await grpcError(c.listCommunications({ pageSize: 1, pageToken: 'nonsense' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    const big = await grpcError(c.listCommunications({ pageSize: 1000, pageToken: '' }));
    expect(big.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('PreviewDelivery', () => {
  it('says who gets which channel, who will not and why, and counts SMS segments', async () => {
    const { id, added } = await draft();
    // Cat's SMS record exists (so an override can release it) but is held back: 5 records, 4 announced.
    expect(added.createdCount).toBe(5);
    const p = await previewDone(id);
    expect(p.recipientCount).toBe(3);
    expect(p.suppressionChecked).toBe(true);
    // Five delivery records (Ann ×2, Bob, Cat ×2).
    expect(p.progress).toMatchObject({ finished: true, checkedCount: 5, totalCount: 5 });
    expect(p.channels).toEqual([
      {
        channel: Channel.CHANNEL_EMAIL,
        willSend: 3,
        missingAddress: 0,
        optedOut: 0,
        preferenceOverridden: 0,
        suppressed: 0,
      },
      {
        channel: Channel.CHANNEL_SMS,
        willSend: 1,
        missingAddress: 1,
        optedOut: 1,
        preferenceOverridden: 0,
        suppressed: 0,
      },
    ]);
    const byName = Object.fromEntries(p.recipients.map((r) => [r.name, r.channels.map((ch) => ch.outcome)]));
    expect(byName).toEqual({
      Ann: [DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND, DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND],
      Bob: [DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND, DeliveryOutcome.DELIVERY_OUTCOME_MISSING_ADDRESS],
      Cat: [DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND, DeliveryOutcome.DELIVERY_OUTCOME_OPTED_OUT],
    });
    // 57 characters of text + " Ack: " + a 40-character link = 103 GSM-7 characters: one segment.
    expect(p.sms).toEqual({
      encoding: SmsEncoding.SMS_ENCODING_GSM7,
      length: 103,
      segments: 1,
      perSegment: 160,
      linkAllowance: 46,
    });

    // Only what will be sent was announced (appears Pending in the Delivery Report).
    const announced = (await recipientsAdded(h)).filter((m) => m.communicationId === id).flatMap((m) => m.deliveries);
    expect(announced).toHaveLength(4);
    expect(announced.some((d) => d.recipientName === 'Cat' && d.channel === Channel.CHANNEL_SMS)).toBe(false);

    // Pages of recipients.
    const first = await c.previewDelivery({ communicationId: id, pageSize: 2, pageToken: '' });
    const second = await c.previewDelivery({ communicationId: id, pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.recipients, ...second.recipients].map((r) => r.name).sort()).toEqual(['Ann', 'Bob', 'Cat']);
    expect(second.nextPageToken).toBe('');
  });

  it('counts again once recipients are added, and lists every recipient once across pages of a larger list', async () => {
    const { id } = await draft([ann]);
    const before = await previewDone(id);
    expect(before.recipientCount).toBe(1);
    // 2 500 more, half of them with a phone too: five pages of 1 000 deliveries for the summary's pass.
    const many = Array.from({ length: 2_500 }, (_, i) => ({
      externalId: `m-${i}`,
      name: `M ${i}`,
      email: `m${i}@example.org`,
      phone: i % 2 === 0 ? `+6141${String(i).padStart(7, '0')}` : '',
      optedOutChannels: [],
    }));
    for (let i = 0; i < many.length; i += 1_000)
      await c.addRecipients({ communicationId: id, recipients: many.slice(i, i + 1_000) });
    const after = await eventually(async () => {
      const p = await c.previewDelivery({ communicationId: id, pageSize: 0, pageToken: '' });
      expect(p.progress).toMatchObject({ finished: true, checkedCount: 2 + 2_500 + 1_250 });
      return p;
    }, 30_000);
    expect(after.recipientCount).toBe(2_501);
    expect(after.channels.map((ch) => [ch.willSend, ch.missingAddress])).toEqual([
      [2_501, 0],
      [1_251, 1_250],
    ]);
    const seen: string[] = [];
    let token = '';
    do {
      const page = await c.previewDelivery({ communicationId: id, pageSize: 1_000, pageToken: token });
      expect(page.recipients.length).toBeLessThanOrEqual(1_000);
      seen.push(...page.recipients.map((r) => r.recipientKey));
      token = page.nextPageToken;
    } while (token !== '');
    expect(seen).toHaveLength(2_501);
    expect(new Set(seen).size).toBe(2_501);
  });

  it("renders a chosen recipient's message and counts the longest filled-in SMS", async () => {
    const created = await c.createCommunication({
      ...content,
      emailSubject: 'Warning for {{street}}',
      emailBody: 'Dear {{name}}, leave {{street}} now.',
      smsText: '{{name}}: leave {{street}} now.',
    });
    const id = created.communication!.id;
    const bad = await grpcError(c.addRecipients({ communicationId: id, recipients: [ann] }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('recipients[0].fields: no value for {{street}}, which the message uses');
    const long = 'Long Winding Mountain Road Extension Number Seven Hundred and Seventy Seven'; // 75 characters
    await c.addRecipients({
      communicationId: id,
      recipients: [
        { ...ann, fields: { street: '1 Coast Rd' } },
        { ...cat, optedOutChannels: [], fields: { street: long } },
      ],
    });
    const p = await eventually(async () => {
      const got = await c.previewDelivery({ communicationId: id, recipientKey: 'x:p-cat' });
      expect(got.progress?.finished).toBe(true);
      return got;
    });
    expect(p.sample).toMatchObject({
      recipientKey: 'x:p-cat',
      name: 'Cat',
      emailSubject: `Warning for ${long}`,
      emailBody: `Dear Cat, leave ${long} now.`,
      smsText: `Cat: leave ${long} now.`,
    });
    // Cat's SMS: 91 characters + the 46 of " Ack: <link>" = 137 GSM-7, one segment; the longest over
    // both recipients is Cat's (Ann's is 67).
    expect(`Cat: leave ${long} now.`).toHaveLength(91);
    expect(p.sms).toMatchObject({ length: 137, segments: 1 });
    const missing = await grpcError(c.previewDelivery({ communicationId: id, recipientKey: 'x:nobody' }));
    expect(missing.code).toBe(status.NOT_FOUND);
  });

  it('counts a UCS-2 text in 67-character segments', async () => {
    const created = await c.createCommunication({
      ...content,
      smsText: 'Évacuation immédiate — quittez la zone maintenant par la route côtière. Ne revenez pas.',
    });
    const p = await c.previewDelivery({ communicationId: created.communication!.id, pageSize: 0, pageToken: '' });
    // 87 characters + 46 for the link = 133 UCS-2 units: two segments of at most 67.
    expect(p.sms).toMatchObject({ encoding: SmsEncoding.SMS_ENCODING_UCS2, length: 133, segments: 2, perSegment: 67 });
  });

  it('answers NOT_FOUND for an unknown communication', async () => {
    const err = await grpcError(c.previewDelivery({ communicationId: 'c_none', pageSize: 0, pageToken: '' }));
    expect(err.code).toBe(status.NOT_FOUND);
  });
});

describe('OverridePreferences', () => {
  it('refuses without who and why, then records the override and releases the held deliveries once', async () => {
    const { id } = await draft();
    const bad = await grpcError(c.overridePreferences({ communicationId: id, operator: ' ', reason: '' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('operator: is required');
    expect(bad.details).toContain('reason: is required');
    expect((await c.getCommunication({ id })).communication!.preferenceOverride).toBeUndefined();

    const before = Date.now();
    const done = await c.overridePreferences({
      communicationId: id,
      operator: 'Duty officer Lee',
      reason: 'Life-threatening fire front',
    });
    expect(done.releasedCount).toBe(1);
    const override = done.communication!.preferenceOverride!;
    expect(override).toMatchObject({ operator: 'Duty officer Lee', reason: 'Life-threatening fire front' });
    expect(override.at!.getTime()).toBeGreaterThanOrEqual(before - 1000);

    const again = await c.overridePreferences({ communicationId: id, operator: 'Someone else', reason: 'again' });
    expect(again.releasedCount).toBe(0);
    expect(again.communication!.preferenceOverride).toEqual(override);

    const p = await previewDone(id);
    expect(p.communication!.preferenceOverride).toEqual(override);
    expect(p.channels[1]).toMatchObject({ willSend: 1, optedOut: 0, preferenceOverridden: 1 });
    const catSms = p.recipients.find((r) => r.name === 'Cat')!.channels[1]!;
    expect(catSms.outcome).toBe(DeliveryOutcome.DELIVERY_OUTCOME_PREFERENCE_OVERRIDDEN);

    // The released record is announced (Pending in the report) and sent.
    await eventually(async () => {
      const announced = (await recipientsAdded(h)).filter((m) => m.communicationId === id).flatMap((m) => m.deliveries);
      expect(announced.map((d) => d.deliveryId)).toContain(catSms.deliveryId);
    });
    await c.sendCommunication({ communicationId: id });
    await waitSent(id);
    const sent = (await sendRequests(h)).filter((r) => r.communicationId === id);
    expect(sent.map((r) => r.deliveryId).sort()).toEqual(
      p.recipients
        .flatMap((r) => r.channels.map((ch) => ch.deliveryId))
        .filter((d) => d !== '')
        .sort(),
    );

    const late = await draft();
    await c.sendCommunication({ communicationId: late.id });
    await waitSent(late.id);
    const tooLate = await grpcError(c.overridePreferences({ communicationId: late.id, operator: 'Lee', reason: 'x' }));
    expect(tooLate.code).toBe(status.FAILED_PRECONDITION);
  });

  it('sends nothing on a channel the recipient opted out of when there is no override', async () => {
    const { id } = await draft([cat]);
    await c.sendCommunication({ communicationId: id });
    await waitSent(id);
    const sent = (await sendRequests(h)).filter((r) => r.communicationId === id);
    expect(sent.map((r) => r.channel)).toEqual([Channel.CHANNEL_EMAIL]);
  });
});

describe('ResendCommunication', () => {
  it('gives the not-yet-delivered records a new attempt, once per request ID', async () => {
    const { id, added } = await draft([ann, bob]);
    const resend = (requestId: string, scope = ResendScope.RESEND_SCOPE_NOT_DELIVERED) =>
      c.resendCommunication({ communicationId: id, requestId, scope, operator: 'Lee' });

    const early = await grpcError(resend('r-early'));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    await c.sendCommunication({ communicationId: id });
    await waitSent(id);

    const invalid = await grpcError(
      c.resendCommunication({
        communicationId: id,
        requestId: 'no spaces!',
        scope: ResendScope.RESEND_SCOPE_UNSPECIFIED,
        operator: '',
      }),
    );
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toContain('request_id:');
    expect(invalid.details).toContain('scope:');
    expect(invalid.details).toContain('operator:');

    // Ann's email Delivered, Ann's SMS Not Sent, Bob's email Bounced Temporarily.
    const [annEmail, annSms, bobEmail] = added.deliveries.map((d) => d.deliveryId) as [string, string, string];
    h.board.set(annEmail, { communicationId: id, status: DeliveryStatus.DELIVERY_STATUS_DELIVERED });
    h.board.set(annSms, { communicationId: id, status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT });
    h.board.set(bobEmail, { communicationId: id, status: DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY });

    // It answers at once and runs in the background; the same request again answers with its progress.
    const first = await resend('r-1');
    expect(first).toMatchObject({ requestId: 'r-1', repeated: false });
    expect(first.finishedAt).toBeUndefined();
    const finished = async (requestId: string, scope?: ResendScope) => {
      let last = await resend(requestId, scope);
      await eventually(async () => {
        last = await resend(requestId, scope);
        expect(last.finishedAt).toBeDefined();
      });
      return last;
    };
    const repeat = await finished('r-1');
    expect(repeat).toMatchObject({ requestId: 'r-1', resentCount: 2, repeated: true, totalCount: 2, examinedCount: 2 });

    const attempts = async () =>
      (await sendRequests(h))
        .filter((r) => r.communicationId === id)
        .map((r) => `${r.deliveryId}:${r.attempt}`)
        .sort();
    expect(await attempts()).toEqual(
      [`${annEmail}:1`, `${annSms}:1`, `${annSms}:2`, `${bobEmail}:1`, `${bobEmail}:2`].sort(),
    );

    // Ann answers by SMS; Bob's email is delivered. "Not answered" now means Ann's email and Bob's email.
    h.board.set(annSms, { communicationId: id, status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED });
    h.board.set(bobEmail, { communicationId: id, status: DeliveryStatus.DELIVERY_STATUS_DELIVERED });
    const second = await finished('r-2', ResendScope.RESEND_SCOPE_NOT_ANSWERED);
    expect(second.resentCount).toBe(2);
    const after = await attempts();
    expect(after).toContain(`${annEmail}:2`); // Ann's email: first resend
    expect(after).toContain(`${bobEmail}:3`); // Bob's email: second resend
    expect(after.filter((a) => a.startsWith(annSms))).toHaveLength(2); // answered: not resent
  });

  it('refuses "not answered" for a communication that asks for no answer', async () => {
    const created = await c.createCommunication({ ...content, acknowledgementRequested: false, responseOptions: [] });
    const id = created.communication!.id;
    await c.addRecipients({ communicationId: id, recipients: [bob] });
    await c.sendCommunication({ communicationId: id });
    await waitSent(id);
    const err = await grpcError(
      c.resendCommunication({
        communicationId: id,
        requestId: 'r',
        scope: ResendScope.RESEND_SCOPE_NOT_ANSWERED,
        operator: 'Lee',
      }),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
  });
});

describe('ResendCommunication without reporting', () => {
  it('answers UNAVAILABLE and changes nothing when REPORTING_GRPC_URL is not set', async () => {
    const bare = await startHarness('commnorep', { REPORTING_GRPC_URL: '' });
    try {
      const created = await bare.api.createCommunication(content);
      const id = created.communication!.id;
      await bare.api.addRecipients({ communicationId: id, recipients: [bob] });
      await bare.api.sendCommunication({ communicationId: id });
      await eventually(async () => {
        expect((await bare.api.getCommunication({ id })).communication!.state).toBe(
          CommunicationState.COMMUNICATION_STATE_SENT,
        );
      });
      const err = await grpcError(
        bare.api.resendCommunication({
          communicationId: id,
          requestId: 'r-1',
          scope: ResendScope.RESEND_SCOPE_NOT_DELIVERED,
          operator: 'Lee',
        }),
      );
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toContain('REPORTING_GRPC_URL');
      expect((await sendRequests(bare)).map((r) => r.attempt)).toEqual([1]);
    } finally {
      await bare.stop();
    }
  });
});

describe('GetRecipientHistory', () => {
  it("lists a recipient's deliveries across communications, newest first, with attempts", async () => {
    const one = await draft([cat]);
    await c.sendCommunication({ communicationId: one.id });
    await waitSent(one.id);
    const two = await draft([cat]);
    const history = await c.getRecipientHistory({
      recipientKey: 'x:p-cat',
      pageSize: 0,
      pageToken: '',
      email: '',
      phone: '',
      externalId: '',
    });
    const mine = history.entries.filter((e) => e.communicationId === one.id || e.communicationId === two.id);
    expect(mine.map((e) => [e.communicationId, e.channel, e.attempt, e.heldByPreference])).toEqual(
      expect.arrayContaining([
        [two.id, Channel.CHANNEL_EMAIL, 0, false],
        [two.id, Channel.CHANNEL_SMS, 0, true],
        [one.id, Channel.CHANNEL_EMAIL, 1, false],
        [one.id, Channel.CHANNEL_SMS, 0, true],
      ]),
    );
    expect(mine[0]!.communicationId).toBe(two.id); // newest first
    expect(mine.every((e) => e.title === content.title && e.recipientName === 'Cat')).toBe(true);

    const paged = await c.getRecipientHistory({
      recipientKey: 'x:p-cat',
      pageSize: 1,
      pageToken: '',
      email: '',
      phone: '',
      externalId: '',
    });
    expect(paged.entries).toHaveLength(1);
    expect(paged.nextPageToken).not.toBe('');
    const empty = await grpcError(
      c.getRecipientHistory({ recipientKey: '', pageSize: 0, pageToken: '', email: '', phone: '', externalId: '' }),
    );
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
  });
});
