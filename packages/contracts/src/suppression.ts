import { createHash } from 'node:crypto';
import type { ChannelName } from './channels.js';

/**
 * An address in the form suppression compares: email trimmed and lower-cased; phone with spaces,
 * dashes, dots and brackets removed (E.164 stays as it is).
 */
export function normalizeAddress(channel: ChannelName, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address.trim().replace(/[\s().-]/g, '');
}

/**
 * The key of an address on the suppression list: `s1_` + base64url(sha256(channel, normalized
 * address)). Dispatch's `suppressions._id`, and what a lift names; the address itself is never stored.
 */
export function suppressionKey(channel: ChannelName, address: string): string {
  const digest = createHash('sha256')
    .update(`${channel}\n${normalizeAddress(channel, address)}`)
    .digest();
  return `s1_${digest.toString('base64url')}`;
}
