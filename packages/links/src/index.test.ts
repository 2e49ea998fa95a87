import { describe, expect, it } from 'vitest';
import { LinkError, parseLinkKeys, signLink, verifyLink, type LinkClaims } from './index.js';

const k1 = { id: 'k1', secret: 'a'.repeat(32) };
const k2 = { id: 'k2', secret: 'b'.repeat(32) };
const claims: LinkClaims = { deliveryId: 'd_abc', communicationId: 'c_xyz', action: 'ack', expiresAt: 2_000 };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof LinkError) return e.reason;
    throw e;
  }
  return 'accepted';
}

describe('links', () => {
  it('round-trips claims signed with the newest key', () => {
    const token = signLink(claims, [k1]);
    expect(verifyLink(token, [k1], 'ack', 1_000)).toEqual(claims);
    expect(token).toMatch(/^[A-Za-z0-9._~-]+$/);
  });

  it('verifies old links after a new key is rotated in, and refuses a rotated-out key', () => {
    const old = signLink(claims, [k1]);
    expect(verifyLink(old, [k2, k1], 'ack', 1_000).deliveryId).toBe('d_abc');
    expect(refusal(() => verifyLink(old, [k2], 'ack', 1_000))).toBe('unknown_key');
  });

  it('refuses tampered, expired and malformed tokens', () => {
    const token = signLink(claims, [k1]);
    const parts = token.split('.');
    const forged = Buffer.from('d_other~c_xyz~ack~zz').toString('base64url');
    expect(refusal(() => verifyLink([parts[0], parts[1], forged, parts[3]].join('.'), [k1], 'ack', 1_000))).toBe(
      'bad_signature',
    );
    expect(refusal(() => verifyLink(token, [k1], 'ack', 3_000))).toBe('expired');
    expect(refusal(() => verifyLink('nonsense', [k1], 'ack', 1_000))).toBe('malformed');
  });

  it('parses keys and rejects weak or repeated ones', () => {
    expect(parseLinkKeys(`k2:${k2.secret}, k1:${k1.secret}`).map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(() => parseLinkKeys('k1:short')).toThrow(/at least 32/);
    expect(() => parseLinkKeys(`k1:${k1.secret},k1:${k2.secret}`)).toThrow(/unique/);
    expect(() => parseLinkKeys('')).toThrow(/required/);
  });
});
