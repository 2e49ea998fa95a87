import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a recipient link lets its holder do. The action is inside the signature. */
export type LinkAction = 'ack';

/** The facts a link carries. No personal data: IDs only. */
export interface LinkClaims {
  deliveryId: string;
  communicationId: string;
  action: LinkAction;
  /** Expiry, seconds since the epoch. */
  expiresAt: number;
}

/** A signing key with an ID, so keys can rotate: sign with the newest, verify with all. */
export interface LinkKey {
  id: string;
  secret: string;
}

/** Why a token was refused; safe to show to the recipient. */
export type LinkRefusal = 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' | 'wrong_action';

/** A refused token. */
export class LinkError extends Error {
  override readonly name = 'LinkError';
  constructor(readonly reason: LinkRefusal) {
    super(`link refused: ${reason}`);
  }
}

const VERSION = 'v1';
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses `LINK_SIGNING_KEYS` ("id:secret,id:secret", newest first). Throws when empty, when an ID
 * repeats, or when a secret is shorter than 32 characters.
 */
export function parseLinkKeys(value: string): LinkKey[] {
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const i = entry.indexOf(':');
      const id = entry.slice(0, i);
      const secret = entry.slice(i + 1);
      if (i <= 0 || !ID.test(id)) throw new Error('each key must be "id:secret" with an ID of letters, digits, _ or -');
      if (secret.length < 32) throw new Error(`key "${id}": the secret must be at least 32 characters`);
      return { id, secret };
    });
  if (keys.length === 0) throw new Error('at least one "id:secret" key is required');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key IDs must be unique');
  return keys;
}

/** Signs claims with the first (newest) key; the token is URL-safe. */
export function signLink(claims: LinkClaims, keys: readonly LinkKey[]): string {
  const key = keys[0];
  if (!key) throw new Error('no signing key');
  for (const id of [claims.deliveryId, claims.communicationId])
    if (!ID.test(id)) throw new Error('IDs in links must be URL-safe');
  const payload = Buffer.from(
    [claims.deliveryId, claims.communicationId, claims.action, claims.expiresAt.toString(36)].join('~'),
  ).toString('base64url');
  const body = `${VERSION}.${key.id}.${payload}`;
  return `${body}.${mac(key.secret, body)}`;
}

/**
 * Verifies a token for an expected action at a time (seconds). Throws a {@link LinkError} for a
 * malformed, unknown-key, tampered, expired or other-action token.
 */
export function verifyLink(
  token: string,
  keys: readonly LinkKey[],
  expected: LinkAction,
  nowSeconds: number,
): LinkClaims {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new LinkError('malformed');
  const [, keyId, payload, signature] = parts as [string, string, string, string];
  const key = keys.find((k) => k.id === keyId);
  if (!key) throw new LinkError('unknown_key');
  const expectedMac = Buffer.from(mac(key.secret, `${VERSION}.${keyId}.${payload}`));
  const givenMac = Buffer.from(signature);
  if (givenMac.length !== expectedMac.length || !timingSafeEqual(givenMac, expectedMac))
    throw new LinkError('bad_signature');
  const fields = Buffer.from(payload, 'base64url').toString('utf8').split('~');
  const [deliveryId, communicationId, action, exp] = fields;
  if (fields.length !== 4 || !deliveryId || !communicationId || !action || !exp) throw new LinkError('malformed');
  if (action !== expected) throw new LinkError('wrong_action');
  const expiresAt = parseInt(exp, 36);
  if (!Number.isFinite(expiresAt) || expiresAt < nowSeconds) throw new LinkError('expired');
  return { deliveryId, communicationId, action: expected, expiresAt };
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest().subarray(0, 18).toString('base64url');
}
