import { describe, expect, it } from 'vitest';
import type { StatusKey } from '@dlr/status-engine';
import type { DeliveryDoc } from './model.js';
import { buildPreview, smsPreview, wantsResend } from './preview.js';

const at = new Date(0);
const d = (id: string, recipientKey: string, channel: 'email' | 'sms', optedOut = false): DeliveryDoc => ({
  _id: id,
  communicationId: 'c_1',
  recipientKey,
  name: recipientKey.toUpperCase(),
  channel,
  address: 'x',
  createdAt: at,
  ...(optedOut ? { optedOut: true } : {}),
});

describe('buildPreview', () => {
  const deliveries = [d('d1', 'a', 'email'), d('d2', 'a', 'sms', true), d('d3', 'b', 'sms'), d('d4', 'c', 'email')];

  it('decides each recipient × channel: suppressed, no address, opted out, or will send', () => {
    const p = buildPreview({ channels: ['email', 'sms'] }, deliveries, new Map([['d4', 'complaint' as const]]));
    expect(p.recipients.map((r) => [r.recipientKey, r.channels.map((c) => c.outcome)])).toEqual([
      ['a', ['will_send', 'opted_out']],
      ['b', ['missing_address', 'will_send']],
      ['c', ['suppressed', 'missing_address']],
    ]);
    expect(p.recipients.find((r) => r.recipientKey === 'c')?.channels[0]).toEqual({
      channel: 'email',
      outcome: 'suppressed',
      deliveryId: 'd4',
      suppressionReason: 'complaint',
    });
    expect(p.recipients.find((r) => r.recipientKey === 'a')?.channels[0]?.suppressionReason).toBeUndefined();
    expect(p.channels).toEqual([
      { channel: 'email', will_send: 1, missing_address: 1, opted_out: 0, preference_overridden: 0, suppressed: 1 },
      { channel: 'sms', will_send: 1, missing_address: 1, opted_out: 1, preference_overridden: 0, suppressed: 0 },
    ]);
  });

  it('sends to opted-out channels under an override, but never to a suppressed address', () => {
    const override = { operator: 'Lee', principal: 'token:operator', reason: 'fire', at };
    const p = buildPreview(
      { channels: ['email', 'sms'], preferenceOverride: override },
      [...deliveries, d('d5', 'e', 'sms', true)],
      new Map([['d5', 'opted_out' as const]]),
    );
    expect(p.recipients.find((r) => r.recipientKey === 'a')?.channels[1]?.outcome).toBe('preference_overridden');
    expect(p.recipients.find((r) => r.recipientKey === 'e')?.channels[1]?.outcome).toBe('suppressed');
  });

  it('passes an opt-out through a link under an override only, never a complaint', () => {
    const override = { operator: 'Lee', principal: 'token:operator', reason: 'fire', at };
    const suppressed = new Map([
      ['d3', 'opted_out' as const],
      ['d4', 'complaint' as const],
    ]);
    const links = new Set(['d3']);
    const with_ = buildPreview(
      { channels: ['email', 'sms'], preferenceOverride: override },
      deliveries,
      suppressed,
      links,
    );
    expect(with_.recipients.find((r) => r.recipientKey === 'b')?.channels[1]).toEqual({
      channel: 'sms',
      outcome: 'preference_overridden',
      deliveryId: 'd3',
    });
    expect(with_.recipients.find((r) => r.recipientKey === 'c')?.channels[0]?.outcome).toBe('suppressed');
    const without = buildPreview({ channels: ['email', 'sms'] }, deliveries, suppressed, links);
    expect(without.recipients.find((r) => r.recipientKey === 'b')?.channels[1]?.outcome).toBe('suppressed');
  });
});

describe('smsPreview', () => {
  it('counts the acknowledge link dispatch appends only when an acknowledgement is asked', () => {
    expect(smsPreview({ smsText: 'a'.repeat(114), acknowledgementRequested: true }, 40)).toMatchObject({
      length: 160,
      segments: 1,
      linkAllowance: 46,
    });
    expect(smsPreview({ smsText: 'a'.repeat(115), acknowledgementRequested: true }, 40).segments).toBe(2);
    expect(smsPreview({ smsText: 'a'.repeat(115), acknowledgementRequested: false }, 40)).toMatchObject({
      segments: 1,
      linkAllowance: 0,
    });
  });
});

describe('wantsResend', () => {
  const all: StatusKey[] = [
    'pending',
    'sent',
    'not_sent',
    'bounced_temporarily',
    'delivered',
    'read',
    'failed',
    'acknowledged',
    'responded',
    'opted_out',
  ];
  it('resends below Delivered, or below an answer; never Failed or Opted-out', () => {
    expect(all.filter((s) => wantsResend('not_delivered', s))).toEqual([
      'pending',
      'sent',
      'not_sent',
      'bounced_temporarily',
    ]);
    expect(all.filter((s) => wantsResend('not_answered', s))).toEqual([
      'pending',
      'sent',
      'not_sent',
      'bounced_temporarily',
      'delivered',
      'read',
    ]);
  });
});
