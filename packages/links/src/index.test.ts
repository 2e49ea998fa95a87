import { describe, expect, it } from 'vitest';
import {
  isShortCode,
  LINK_PATHS,
  LinkError,
  linkUrl,
  parseLinkKeys,
  shortCode,
  signLink,
  verifyLink,
  type LinkClaims,
} from './index.js';

const k1 = { id: 'k1', secret: 'a'.repeat(32) };
const k2 = { id: 'k2', secret: 'b'.repeat(32) };
const claims: LinkClaims = {
  deliveryId: 'd_abc',
  communicationId: 'c_xyz',
  channel: 'email',
  action: 'ack',
  issuedAt: 900,
  expiresAt: 2_000,
};

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
    expect(verifyLink(token, [k1], ['respond', 'ack'], 1_000)).toEqual(claims);
    expect(token).toMatch(/^[A-Za-z0-9._~-]+$/);
  });

  it('verifies old links after a new key is rotated in, and refuses a rotated-out key', () => {
    const old = signLink(claims, [k1]);
    expect(verifyLink(old, [k2, k1], 'ack', 1_000).deliveryId).toBe('d_abc');
    expect(refusal(() => verifyLink(old, [k2], 'ack', 1_000))).toBe('unknown_key');
  });

  it('refuses tampered, expired, wrong-action and malformed tokens', () => {
    const token = signLink(claims, [k1]);
    const parts = token.split('.');
    const forged = Buffer.from('d_other~c_xyz~e~ack~p0~zz').toString('base64url');
    expect(refusal(() => verifyLink([parts[0], parts[1], forged, parts[3]].join('.'), [k1], 'ack', 1_000))).toBe(
      'bad_signature',
    );
    expect(refusal(() => verifyLink(token, [k1], 'ack', 3_000))).toBe('expired');
    expect(refusal(() => verifyLink(token, [k1], 'optout', 1_000))).toBe('wrong_action');
    expect(refusal(() => verifyLink(token, [k1], ['read', 'respond'], 1_000))).toBe('wrong_action');
    expect(refusal(() => verifyLink('nonsense', [k1], 'ack', 1_000))).toBe('malformed');
  });

  it('carries no personal data: only IDs, channel, action and times', () => {
    const token = signLink({ ...claims, action: 'optout' }, [k1]);
    const payload = Buffer.from(token.split('.')[2]!, 'base64url').toString('utf8');
    expect(payload.split('~')).toEqual(['d_abc', 'c_xyz', 'e', 'optout', (900).toString(36), (2_000).toString(36)]);
  });

  it('parses keys and rejects weak or repeated ones', () => {
    expect(parseLinkKeys(`k2:${k2.secret}, k1:${k1.secret}`).map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(() => parseLinkKeys('k1:short')).toThrow(/at least 32/);
    expect(() => parseLinkKeys(`k1:${k1.secret},k1:${k2.secret}`)).toThrow(/unique/);
    expect(() => parseLinkKeys('')).toThrow(/required/);
  });
});

describe('short codes', () => {
  it('are 10 base62 characters, stable per delivery × action × key, distinct otherwise', () => {
    const code = shortCode('d_abc', 'ack', [k1]);
    expect(isShortCode(code)).toBe(true);
    expect(shortCode('d_abc', 'ack', [k1, k2])).toBe(code);
    expect(shortCode('d_abc', 'respond', [k1])).not.toBe(code);
    expect(shortCode('d_abd', 'ack', [k1])).not.toBe(code);
    expect(shortCode('d_abc', 'ack', [k2, k1])).not.toBe(code);
    expect(isShortCode('abc')).toBe(false);
    expect(isShortCode('abcdefghi!')).toBe(false);
  });

  it('make an SMS link of at most 40 characters on a realistic host', () => {
    const url = linkUrl('https://alert.example.org/', LINK_PATHS.short, shortCode('d_abc', 'ack', [k1]));
    expect(url).toMatch(/^https:\/\/alert\.example\.org\/s\/[0-9A-Za-z]{10}$/);
    expect(url.length).toBeLessThanOrEqual(40);
    // An acknowledge request fits one 160-character GSM segment with room for the text.
    const sms = `Flood warning for Riverside: move to higher ground now and stay away from the river. Ack: ${url}`;
    expect(sms.length).toBeLessThanOrEqual(160);
  });
});
