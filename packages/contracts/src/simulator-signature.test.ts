import { describe, expect, it } from 'vitest';
import { signSimulatorCallback, verifySimulatorSignature } from './simulator-signature.js';

const secret = 'whsec_0123456789abcdef';
const body = JSON.stringify({ eventId: 'sev_1', messageId: 'sim_1', type: 'delivered' });
const now = 1_800_000_000;
/** HMAC-SHA256(secret, "1800000000." + body), computed once outside this code. */
const KNOWN = 'v1=295831c835ae573917b6c43ad6e4203985a683098b3484fb94170e564e77781f';

describe('signSimulatorCallback', () => {
  it('signs the timestamp and the exact body bytes with HMAC-SHA256', () => {
    expect(signSimulatorCallback(secret, now, body)).toBe(KNOWN);
    expect(signSimulatorCallback(secret, String(now), Buffer.from(body))).toBe(KNOWN);
    expect(signSimulatorCallback(secret, now + 1, body)).not.toBe(KNOWN);
    expect(signSimulatorCallback('another-secret-0123456789', now, body)).not.toBe(KNOWN);
  });
});

describe('verifySimulatorSignature', () => {
  it('accepts the known signature and what the simulator signs', () => {
    expect(verifySimulatorSignature(secret, String(now), body, KNOWN, now)).toBe(true);
    const header = signSimulatorCallback(secret, now, body);
    expect(verifySimulatorSignature(secret, String(now), body, header, now)).toBe(true);
    expect(verifySimulatorSignature(secret, String(now), Buffer.from(body), header, now + 10)).toBe(true);
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('delivered', 'failed');
    expect(verifySimulatorSignature(secret, String(now), tampered, KNOWN, now)).toBe(false);
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
    expect(verifySimulatorSignature(secret, String(now + 1), body, KNOWN, now)).toBe(false);
  });

  it('is false, never throws, for missing or malformed input', () => {
    expect(verifySimulatorSignature(secret, undefined, body, KNOWN, now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, undefined, now)).toBe(false);
    expect(verifySimulatorSignature(secret, 'yesterday', body, KNOWN, now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, 'v1=abc', now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, KNOWN.replace('v1=', 'v2='), now)).toBe(false);
  });
});
