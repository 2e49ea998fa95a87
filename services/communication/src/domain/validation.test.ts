import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@dlr/core';
import { checkPhone, isPhoneRegion } from './phone.js';
import { deliveryId, normalizePhone, planDeliveries, validateCreate, type CreateInput } from './validation.js';

const base: CreateInput = {
  title: 'Evacuate',
  emailSubject: 'Evacuate now',
  emailBody: 'Leave via the north road.',
  smsText: 'Evacuate now via the north road.',
  channels: ['email', 'sms'],
  acknowledgementRequested: true,
  responseOptions: ['Safe', 'Need help'],
};

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e.details;
    throw e;
  }
  return [];
}

describe('validateCreate', () => {
  it('lists every problem at once', () => {
    const found = problems(() =>
      validateCreate({ ...base, title: ' ', emailBody: '', smsText: '', responseOptions: ['a', 'a'] }),
    );
    expect(found).toEqual([
      'title: is required',
      'email_body: is required for the email channel',
      'sms_text: is required for the sms channel',
      'response_options: must be unique',
    ]);
  });

  it('needs at least one channel and only checks the content of chosen channels', () => {
    expect(problems(() => validateCreate({ ...base, channels: [] }))).toEqual(['channels: choose email, sms or both']);
    expect(problems(() => validateCreate({ ...base, channels: ['sms'], emailBody: '' }))).toEqual([]);
  });
});

describe('planDeliveries', () => {
  const comm = { _id: 'c_1', channels: ['email', 'sms'] as ('email' | 'sms')[] };
  const now = new Date(0);

  it('keeps a recipient unreachable on every channel as one record that says why', () => {
    const plan = planDeliveries(
      comm,
      [
        { externalId: 'r-9', name: 'No contact', email: '', phone: '' },
        {
          externalId: '',
          name: 'Opted out',
          email: 'o@example.org',
          phone: '+61400000003',
          optedOut: ['email', 'sms'],
        },
        { externalId: '', name: 'Half', email: 'h@example.org', phone: '+61400000004', optedOut: ['sms'] },
      ],
      now,
    );
    const by = (name: string) =>
      plan.deliveries.filter((d) => d.name === name).map((d) => [d.channel, d.address, d.optedOut, d.unreachable]);
    expect(by('No contact')).toEqual([['email', '', undefined, 'no_address']]);
    expect(by('Opted out')).toEqual([
      ['email', 'o@example.org', true, 'preference'],
      ['sms', '+61400000003', true, undefined],
    ]);
    expect(by('Half')).toEqual([
      ['email', 'h@example.org', undefined, undefined],
      ['sms', '+61400000004', true, undefined],
    ]);
  });

  it('creates one delivery per channel the recipient can be reached on, with stable IDs', () => {
    const plan = planDeliveries(
      comm,
      [
        { externalId: '', name: 'Ann', email: 'Ann@Example.org ', phone: '+61 400 000 001' },
        { externalId: '', name: 'Bob', email: '', phone: '+61400000002' },
      ],
      now,
    );
    expect(plan.deliveries.map((d) => [d.name, d.channel, d.address])).toEqual([
      ['Ann', 'email', 'ann@example.org'],
      ['Ann', 'sms', '+61400000001'],
      ['Bob', 'sms', '+61400000002'],
    ]);
    const again = planDeliveries(
      comm,
      [{ externalId: '', name: 'Ann B', email: 'ann@example.org', phone: '+61400000001' }],
      now,
    );
    expect(again.deliveries.map((d) => d._id)).toEqual(plan.deliveries.slice(0, 2).map((d) => d._id));
  });

  it('keys recipients by external ID when given, and collapses repeats within a batch', () => {
    const plan = planDeliveries(
      comm,
      [
        { externalId: 'p-1', name: 'Ann', email: 'a@example.org', phone: '' },
        { externalId: 'p-1', name: 'Ann', email: 'a@example.org', phone: '' },
      ],
      now,
    );
    expect(plan.deliveries).toHaveLength(1);
    expect(plan.perRow).toHaveLength(2);
    expect(plan.deliveries[0]?._id).toBe(deliveryId('c_1', 'x:p-1', 'email'));
  });

  it('rejects the whole batch, listing each bad row', () => {
    const found = problems(() =>
      planDeliveries(
        comm,
        [
          { externalId: '', name: 'Ok', email: 'ok@example.org', phone: '' },
          { externalId: '', name: 'Bad', email: 'not-an-email', phone: '0400' },
          { externalId: '', name: '', email: '', phone: '' },
        ],
        now,
      ),
    );
    expect(found).toEqual([
      'recipients[1].email: not a valid email address',
      'recipients[1].phone: not in international format: start with + and the country code (e.g. +61400000000)',
      'recipients[2]: has no name, external ID, email address or phone number',
    ]);
  });

  it('normalizes phone numbers to E.164, reading national formats in the default region', () => {
    expect(normalizePhone('+61 (400) 000-001')).toBe('+61400000001');
    expect(normalizePhone('0400 000 001')).toBeUndefined();
    expect(normalizePhone('0400 000 001', { defaultRegion: 'AU' })).toBe('+61400000001');
    expect(normalizePhone('07400 123456', { defaultRegion: 'GB' })).toBe('+447400123456');
    // An international number ignores the default region.
    expect(normalizePhone('+44 7400 123456', { defaultRegion: 'AU' })).toBe('+447400123456');
  });

  it('refuses unallocated numbers, wrong lengths, extensions and text, saying why', () => {
    expect(checkPhone('+1 555 123 9991')).toEqual({ problem: 'not an allocated number range of +1' });
    expect(checkPhone('+447700900123')).toEqual({ problem: 'not an allocated number range of +44' });
    expect(checkPhone('+614000')).toEqual({ problem: 'not a phone number of +61: wrong length' });
    expect(checkPhone('0400')).toEqual({
      problem: 'not in international format: start with + and the country code (e.g. +61400000000)',
    });
    expect(checkPhone('0400', { defaultRegion: 'AU' }).problem).toMatch(/^not a phone number/);
    expect(checkPhone('+61 400 000 001 ext. 5').problem).toMatch(/no extension/);
    expect(checkPhone('+61400000001; DROP').problem).toMatch(/^not a phone number/);
    expect(checkPhone('call me', { defaultRegion: 'AU' }).problem).toMatch(/^not a phone number/);
  });

  it('knows the regions with phone metadata (PHONE_DEFAULT_REGION)', () => {
    expect(isPhoneRegion('AU')).toBe(true);
    expect(isPhoneRegion('GB')).toBe(true);
    expect(isPhoneRegion('XX')).toBe(false);
    expect(isPhoneRegion('au')).toBe(false);
  });

  it('plans national numbers as E.164 with a default region', () => {
    const { deliveries } = planDeliveries(
      comm,
      [{ externalId: '', name: 'Au', email: '', phone: '0400 000 009' }],
      now,
      { defaultRegion: 'AU' },
    );
    expect(deliveries.find((d) => d.channel === 'sms')?.address).toBe('+61400000009');
  });
});
