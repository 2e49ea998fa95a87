import { describe, expect, it } from 'vitest';
import { addressProblem, magicOutcome, parseOutcomeWeights, pickOutcome } from './protocol.js';

describe('magic addresses', () => {
  it('decide email outcomes by the local part', () => {
    expect(magicOutcome('email', 'delivered+42@example.org')).toBe('delivered');
    expect(magicOutcome('email', 'Bounce.full@example.org')).toBe('bounce');
    expect(magicOutcome('email', 'failed@example.org')).toBe('failed');
    expect(magicOutcome('email', 'reject-me@example.org')).toBe('reject');
    expect(magicOutcome('email', 'someone@delivered.example')).toBeUndefined();
  });

  it('decide SMS outcomes by the last four digits', () => {
    expect(magicOutcome('sms', '+61 400 239 991')).toBe('delivered');
    expect(magicOutcome('sms', '+61400239992')).toBe('failed');
    expect(magicOutcome('sms', '+61400239993')).toBe('bounce');
    expect(magicOutcome('sms', '+61400239990')).toBe('reject');
    expect(magicOutcome('sms', '+61400230000')).toBeUndefined();
  });

  it('flag addresses no provider could try', () => {
    expect(addressProblem('email', 'delivered@example.org')).toBeUndefined();
    expect(addressProblem('email', 'not an address')).toBeDefined();
    expect(addressProblem('sms', '+61400239991')).toBeUndefined();
    expect(addressProblem('sms', 'call me')).toBeDefined();
  });
});

describe('random outcomes', () => {
  it('parses weights and rejects bad ones', () => {
    expect(parseOutcomeWeights('delivered=0.8,bounce=0.1,failed=0.1')).toEqual({
      delivered: 0.8,
      bounce: 0.1,
      failed: 0.1,
    });
    expect(parseOutcomeWeights('failed=1')).toEqual({ delivered: 0, bounce: 0, failed: 1 });
    expect(() => parseOutcomeWeights('lost=1')).toThrow(/unknown outcome/);
    expect(() => parseOutcomeWeights('delivered=-1')).toThrow(/non-negative/);
    expect(() => parseOutcomeWeights('delivered=x')).toThrow(/non-negative/);
    expect(() => parseOutcomeWeights('delivered=1,delivered=2')).toThrow(/twice/);
    expect(() => parseOutcomeWeights('delivered=0')).toThrow(/all be 0/);
  });

  it('picks by weight', () => {
    const w = { delivered: 0.5, bounce: 0.25, failed: 0.25 };
    expect(pickOutcome(w, () => 0)).toBe('delivered');
    expect(pickOutcome(w, () => 0.6)).toBe('bounce');
    expect(pickOutcome(w, () => 0.99)).toBe('failed');
  });
});
