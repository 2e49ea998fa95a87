import { createHash, randomBytes } from 'node:crypto';
import type { ChannelName } from './channels.js';
import { PersonErased } from './gen/dlr/communication/v1/events.pb.js';
import { normalizeAddress } from './suppression.js';

/** What replaces an erased name, address or provider text in every service's documents. */
export const ERASED = '[erased]';

/** What an erasure hash is of: an address (by channel) or a name. */
export type ErasureHashKind = ChannelName | 'name';

/** Most words in a name that {@link scrubNames} looks for. */
const MAX_NAME_WORDS = 6;
const EMAIL_LIKE = /[^\s@<>(),;:"'[\]{}=&/\\]+@[^\s@<>(),;:"'[\]{}=&/\\]+/g;
const PHONE_LIKE = /\+[1-9][\d().-]{5,20}\d/g;

/** A new salt for one erasure (32 random bytes). */
export function newErasureSalt(): Buffer {
  return randomBytes(32);
}

/** A name as erasure compares it: trimmed, inner whitespace collapsed, lower-cased. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * The hash `PersonErased` carries for one identifier: base64url(SHA-256(salt, kind, normalized
 * value)). The salt is random per erasure, so the event matches only what it was made for and cannot
 * be looked up in a table made beforehand.
 */
export function erasureHash(salt: Uint8Array, kind: ErasureHashKind, value: string): string {
  const normalized = kind === 'name' ? normalizeName(value) : normalizeAddress(kind, value);
  return createHash('sha256').update(salt).update(`\n${kind}\n${normalized}`).digest('base64url');
}

/**
 * True when `text` (a raw provider callback, a query string) holds an email address or phone number
 * whose {@link erasureHash} is among `addressHashes`. Reads the text as it is and URL-decoded (form
 * bodies), so every provider's format is covered without parsing it.
 */
export function mentionsAddress(text: string, salt: Uint8Array, addressHashes: ReadonlySet<string>): boolean {
  if (addressHashes.size === 0 || text === '') return false;
  for (const form of textForms(text)) {
    for (const m of form.matchAll(EMAIL_LIKE))
      if (addressHashes.has(erasureHash(salt, 'email', m[0].replace(/^mailto:/i, '').replace(/\.+$/, '')))) return true;
    for (const m of form.matchAll(PHONE_LIKE)) if (addressHashes.has(erasureHash(salt, 'sms', m[0]))) return true;
  }
  return false;
}

/**
 * `text` with every run of 1–6 words whose {@link erasureHash} (kind `name`) is among `nameHashes`
 * replaced by {@link ERASED}; the text itself when nothing matched. For free text that may name the
 * person (page content, a communication's body).
 */
export function scrubNames(text: string, salt: Uint8Array, nameHashes: ReadonlySet<string>): string {
  if (nameHashes.size === 0 || text === '') return text;
  // Words with their positions; punctuation around a word ("Lee." at a sentence's end) is not part of it.
  const words = [...text.matchAll(/[\p{L}\p{N}](?:[\p{L}\p{N}'’.-]*[\p{L}\p{N}])?/gu)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
  }));
  const cuts: { start: number; end: number }[] = [];
  for (let i = 0; i < words.length; i++) {
    // Longest match first, so "Ann Lee" wins over "Ann".
    for (let n = Math.min(MAX_NAME_WORDS, words.length - i); n >= 1; n--) {
      const start = words[i]!.start;
      const end = words[i + n - 1]!.end;
      if (nameHashes.has(erasureHash(salt, 'name', text.slice(start, end)))) {
        cuts.push({ start, end });
        i += n - 1;
        break;
      }
    }
  }
  if (cuts.length === 0) return text;
  let out = '';
  let at = 0;
  for (const c of cuts) {
    out += text.slice(at, c.start) + ERASED;
    at = c.end;
  }
  return out + text.slice(at);
}

function textForms(text: string): string[] {
  const forms = [text];
  try {
    const decoded = decodeURIComponent(text.replaceAll('+', '%2B'));
    if (decoded !== text) forms.push(decoded);
  } catch {
    // Not URL-encoded: the text as it is is enough.
  }
  return forms;
}

/**
 * Decodes a `PersonErased` and checks it can be applied (an ID, a 32-byte salt); throws otherwise,
 * which every consumer treats as poison (dead letter).
 */
export function decodePersonErased(data: Uint8Array): PersonErased {
  const event = PersonErased.decode(data);
  if (event.erasureId === '' || event.salt.length !== 32) throw new Error('PersonErased without erasure_id or salt');
  return event;
}
