import { describe, expect, it } from 'vitest';
import {
  addressProblem,
  magicOutcome,
  parseOutcomeWeights,
  pickOutcome,
  signSimulatorCallback,
  verifySimulatorSignature,
} from './protocol.js';

const secret = 'whsec_0123456789abcdef';
const body = JSON.stringify({ eventId: 'sev_1', messageId: 'sim_1', type: 'delivered' });
const now = 1_800_000_000;

describe('callback signatures', () => {
  it('verifies what it signed', () => {
    const header = signSimulatorCallback(secret, now, body);
    expect(header).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifySimulatorSignature(secret, String(now), body, header, now)).toBe(true);
    expect(verifySimulatorSignature(secret, String(now), Buffer.from(body), header, now + 10)).toBe(true);
  });

  it('refuses a tampered body', () => {
    const header = signSimulatorCallback(secret, now, body);
    const tampered = body.replace('delivered', 'failed');
    expect(verifySimulatorSignature(secret, String(now), tampered, header, now)).toBe(false);
  });

  it('refuses a signature made with another secret', () => {
    const header = signSimulatorCallback('another-secret-0123456789', now, body);
    expect(verifySimulatorSignature(secret, String(now), body, header, now)).toBe(false);
  });

  it('refuses a stale or far-future timestamp, even with a valid signature', () => {
    const old = now - 301;
    expect(verifySimulatorSignature(secret, String(old), body, signSimulatorCallback(secret, old, body), now)).toBe(
      false,
    );
    const future = now + 301;
    expect(
      verifySimulatorSignature(secret, String(future), body, signSimulatorCallback(secret, future, body), now),
    ).toBe(false);
    // Inside a wider window it passes.
    expect(
      verifySimulatorSignature(secret, String(old), body, signSimulatorCallback(secret, old, body), now, 600),
    ).toBe(true);
  });

  it('refuses a timestamp other than the signed one', () => {
    const header = signSimulatorCallback(secret, now, body);
    expect(verifySimulatorSignature(secret, String(now + 1), body, header, now)).toBe(false);
  });

  it('is false, never throws, for missing or malformed input', () => {
    const header = signSimulatorCallback(secret, now, body);
    expect(verifySimulatorSignature(secret, undefined, body, header, now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, undefined, now)).toBe(false);
    expect(verifySimulatorSignature(secret, 'yesterday', body, header, now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, 'v1=abc', now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, header.replace('v1=', 'v2='), now)).toBe(false);
  });
});

describe('magic addresses', () => {
  it('decide email outcomes by the local part', () => {
    expect(magicOutcome('email', 'delivered+42@example.org')).toBe('delivered');
    expect(magicOutcome('email', 'Bounce.full@example.org')).toBe('bounce');
    expect(magicOutcome('email', 'failed@example.org')).toBe('failed');
    expect(magicOutcome('email', 'reject-me@example.org')).toBe('reject');
    expect(magicOutcome('email', 'someone@delivered.example')).toBeUndefined();
  });

  it('decide SMS outcomes by the last four digits', () => {
    expect(magicOutcome('sms', '+1 555 123 9991')).toBe('delivered');
    expect(magicOutcome('sms', '+15551239992')).toBe('failed');
    expect(magicOutcome('sms', '+15551239993')).toBe('bounce');
    expect(magicOutcome('sms', '+15551239990')).toBe('reject');
    expect(magicOutcome('sms', '+15551230000')).toBeUndefined();
  });

  it('flag addresses no provider could try', () => {
    expect(addressProblem('email', 'delivered@example.org')).toBeUndefined();
    expect(addressProblem('email', 'not an address')).toBeDefined();
    expect(addressProblem('sms', '+15551239991')).toBeUndefined();
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
