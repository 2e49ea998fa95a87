import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What a recipient link lets its holder do; the action is inside the signature, so a token for one
 * action never works for another. `respond` opens the page with every response option as a button.
 */
export type LinkAction = 'ack' | 'respond' | 'optout' | 'read';

/** Every action, in a stable order. */
export const LINK_ACTIONS: readonly LinkAction[] = ['ack', 'respond', 'optout', 'read'];

/** The channel a link was sent through (the page shows that channel's text). */
export type LinkChannel = 'email' | 'sms';

/** The facts a link carries. No personal data: IDs and times only. */
export interface LinkClaims {
  deliveryId: string;
  communicationId: string;
  channel: LinkChannel;
  action: LinkAction;
  /** When the link was minted (just before the send), seconds since the epoch. */
  issuedAt: number;
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
const CHANNEL_CODES: Record<LinkChannel, string> = { email: 'e', sms: 's' };

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

/** Signs claims with the first (newest) key; the token is URL-safe. Throws for IDs that are not URL-safe. */
export function signLink(claims: LinkClaims, keys: readonly LinkKey[]): string {
  const key = newest(keys);
  for (const id of [claims.deliveryId, claims.communicationId])
    if (!ID.test(id)) throw new Error('IDs in links must be URL-safe');
  const payload = Buffer.from(
    [
      claims.deliveryId,
      claims.communicationId,
      CHANNEL_CODES[claims.channel],
      claims.action,
      claims.issuedAt.toString(36),
      claims.expiresAt.toString(36),
    ].join('~'),
  ).toString('base64url');
  const body = `${VERSION}.${key.id}.${payload}`;
  return `${body}.${mac(key.secret, body)}`;
}

/**
 * Verifies a token for the expected action(s) at a time (seconds). Throws a {@link LinkError} for a
 * malformed, unknown-key (rotated out), tampered, expired or other-action token.
 */
export function verifyLink(
  token: string,
  keys: readonly LinkKey[],
  expected: LinkAction | readonly LinkAction[],
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
  const [deliveryId, communicationId, channelCode, action, iat, exp] = fields;
  const channel = (Object.keys(CHANNEL_CODES) as LinkChannel[]).find((c) => CHANNEL_CODES[c] === channelCode);
  if (fields.length !== 6 || !deliveryId || !communicationId || !channel || !action || !iat || !exp)
    throw new LinkError('malformed');
  const accepted: readonly LinkAction[] = typeof expected === 'string' ? [expected] : expected;
  const known = accepted.find((a) => a === action);
  if (known === undefined) throw new LinkError('wrong_action');
  const issuedAt = parseInt(iat, 36);
  const expiresAt = parseInt(exp, 36);
  if (!Number.isFinite(issuedAt)) throw new LinkError('malformed');
  if (!Number.isFinite(expiresAt) || expiresAt < nowSeconds) throw new LinkError('expired');
  return { deliveryId, communicationId, channel, action: known, issuedAt, expiresAt };
}

/** Length of a short code: 10 base62 characters (about 59 bits, from an HMAC: not guessable). */
export const SHORT_CODE_LENGTH = 10;
const SHORT_CODE = /^[0-9A-Za-z]{10}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The short code of a delivery record × action, for SMS: HMAC of the newest key over the IDs, in
 * base62. Deterministic, so a redelivered send request mints the same code; it says nothing by
 * itself — feedback-link resolves it to the full signed token it was issued for.
 */
export function shortCode(deliveryId: string, action: LinkAction, keys: readonly LinkKey[]): string {
  const key = newest(keys);
  const digest = createHmac('sha256', key.secret).update(`short\n${key.id}\n${deliveryId}\n${action}`).digest();
  let n = digest.readBigUInt64BE(0) % 62n ** BigInt(SHORT_CODE_LENGTH);
  let code = '';
  for (let i = 0; i < SHORT_CODE_LENGTH; i++) {
    code = BASE62[Number(n % 62n)]! + code;
    n /= 62n;
  }
  return code;
}

/** True when `value` has the shape of a short code (no lookup). */
export function isShortCode(value: string): boolean {
  return SHORT_CODE.test(value);
}

/** Paths of the recipient pages under feedback-link's public base URL. */
export const LINK_PATHS = {
  /** Acknowledge and respond pages: `/a/<token>`. */
  page: 'a',
  /** Opt-out page and RFC 8058 one-click endpoint: `/u/<token>`. */
  optout: 'u',
  /** The 1×1 open pixel: `/o/<token>`. */
  pixel: 'o',
  /** SMS short links: `/s/<code>`. */
  short: 's',
} as const;

/** `<base>/<path>/<token or code>`; a trailing slash on the base is ignored. */
export function linkUrl(baseUrl: string, path: (typeof LINK_PATHS)[keyof typeof LINK_PATHS], tokenOrCode: string) {
  return `${baseUrl.replace(/\/+$/, '')}/${path}/${tokenOrCode}`;
}

function newest(keys: readonly LinkKey[]): LinkKey {
  const key = keys[0];
  if (!key) throw new Error('no signing key');
  return key;
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest().subarray(0, 18).toString('base64url');
}
