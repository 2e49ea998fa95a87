// The suppression list for operators (admin): every entry newest first, or the entry of one address.
import { suppressionKey, type SuppressionEntry } from '@dlr/contracts';
import { InvalidArgumentError } from '@dlr/core';
import type { ChannelName } from './model.js';
import { checkPhone, type PhoneRules } from './phone.js';
import { normalizeEmail } from './validation.js';

export type { SuppressionEntry } from '@dlr/contracts';

/** Reads of the replica. */
export interface SuppressionListStore {
  byKey(key: string): Promise<SuppressionEntry | null>;
  /** Newest first (`suppressedAt`, then `_id`), after the cursor. */
  page(limit: number, after?: { at: Date; id: string }): Promise<SuppressionEntry[]>;
}

function decode(token: string): { at: Date; id: string } | undefined {
  if (token === '') return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string' && v[1].length <= 200)
      return { at: new Date(v[0]), id: v[1] };
  } catch {
    // fall through
  }
  throw new InvalidArgumentError('invalid page_token', ['page_token: not a cursor this service issued']);
}

/** Lists and searches the suppression list. */
export class SuppressionQueries {
  constructor(
    private readonly store: SuppressionListStore,
    private readonly phoneRules: PhoneRules = {},
  ) {}

  /**
   * With an address: its entry, if any (exact match after normalising, on the given channel, or on
   * the channel its form says when none is given). Throws InvalidArgumentError (nothing read).
   */
  async list(input: { channel: ChannelName | undefined; address: string; pageSize: number; pageToken: string }) {
    const size = input.pageSize === 0 ? 50 : input.pageSize;
    if (!Number.isInteger(size) || size < 1 || size > 200)
      throw new InvalidArgumentError('invalid suppression query', ['page_size: must be 1 to 200']);
    const raw = input.address.trim();
    if (raw !== '') {
      const channel = input.channel ?? (raw.includes('@') ? 'email' : 'sms');
      const address = channel === 'email' ? normalizeEmail(raw) : checkPhone(raw, this.phoneRules).phone;
      if (address === undefined) {
        const problem = channel === 'email' ? 'not a valid email address' : checkPhone(raw, this.phoneRules).problem;
        throw new InvalidArgumentError('invalid suppression query', [`address: ${problem ?? 'not valid'}`]);
      }
      const found = await this.store.byKey(suppressionKey(channel, address));
      return { suppressions: found ? [found] : [], nextPageToken: '', channel };
    }
    const docs = await this.store.page(size + 1, decode(input.pageToken));
    const suppressions = docs.slice(0, size);
    const last = suppressions.at(-1);
    return {
      suppressions,
      nextPageToken:
        docs.length > size && last
          ? Buffer.from(JSON.stringify([last.suppressedAt.getTime(), last._id])).toString('base64url')
          : '',
      channel: undefined,
    };
  }
}
