// A recipient's message history, found by what an operator knows: an email address, a phone number
// (any format the service reads), an external ID, or the internal recipient key. Each entry has the
// communication's title, the channel, and the status and response the report shows, read from
// reporting for the whole page in one call.
import { InvalidArgumentError, type Logger } from '@dlr/core';
import type { StatusKey } from '@dlr/status-engine';
import { isIncluded, type ChannelName, type CommunicationDoc, type DeliveryDoc } from './model.js';
import { decodeCursor, encodeCursor, pageSize } from './operator-actions.js';
import { checkPhone, type PhoneRules } from './phone.js';
import type { CommunicationStore } from './ports.js';
import { normalizeEmail } from './validation.js';

/** Most recipient keys one address may stand for in a search (one person added under several keys). */
const MAX_KEYS = 50;

/** Who to look up: exactly one field set. */
export interface HistoryQuery {
  recipientKey?: string | undefined;
  email?: string | undefined;
  phone?: string | undefined;
  externalId?: string | undefined;
}

/** Reads the history needs from the store. */
export interface HistoryStore {
  /** Distinct recipient keys of the deliveries to this address on this channel (at most `limit`). */
  recipientKeysAt(channel: ChannelName, address: string, limit: number): Promise<string[]>;
  /** Deliveries of any of `keys`, newest first; `after` is the last of the previous page. */
  deliveriesOf(keys: readonly string[], limit: number, after?: { createdAt: Date; id: string }): Promise<DeliveryDoc[]>;
}

/** The status and response reporting shows for delivery records, by ID. */
export interface DeliveryRecordLookup {
  /** Throws UnavailableError when reporting cannot be reached. */
  records(ids: readonly string[]): Promise<ReadonlyMap<string, { status: StatusKey; response: string }>>;
}

/** One entry of the history. */
export interface RecipientHistoryEntry {
  readonly delivery: DeliveryDoc;
  readonly communication: CommunicationDoc | undefined;
  readonly attempt: number;
  readonly heldByPreference: boolean;
  /** Undefined when reporting has no record of it yet or could not be asked. */
  readonly status: StatusKey | undefined;
  readonly response: string;
}

/** The history use case. */
export class RecipientHistory {
  constructor(
    private readonly deps: {
      store: CommunicationStore & HistoryStore;
      records?: DeliveryRecordLookup | undefined;
      logger: Logger;
      phoneRules?: PhoneRules | undefined;
    },
  ) {}

  /** The recipient keys a query stands for; throws InvalidArgumentError naming the problem. */
  async keysOf(q: HistoryQuery): Promise<string[]> {
    const given = Object.entries(q).filter(([, v]) => typeof v === 'string' && v.trim() !== '');
    if (given.length !== 1)
      throw new InvalidArgumentError('invalid recipient', [
        'give exactly one of: email, phone, external_id, recipient_key',
      ]);
    if (q.recipientKey?.trim()) {
      const key = q.recipientKey.trim();
      if (key.length > 600)
        throw new InvalidArgumentError('invalid recipient_key', ['recipient_key: at most 600 characters']);
      return [key];
    }
    if (q.externalId?.trim()) {
      const id = q.externalId.trim();
      if (id.length > 200)
        throw new InvalidArgumentError('invalid external_id', ['external_id: at most 200 characters']);
      return [`x:${id}`];
    }
    if (q.email?.trim()) {
      const email = normalizeEmail(q.email);
      if (email === undefined) throw new InvalidArgumentError('invalid email', ['email: not a valid email address']);
      return this.deps.store.recipientKeysAt('email', email, MAX_KEYS);
    }
    const checked = checkPhone(q.phone ?? '', this.deps.phoneRules);
    if (checked.phone === undefined) throw new InvalidArgumentError('invalid phone', [`phone: ${checked.problem}`]);
    return this.deps.store.recipientKeysAt('sms', checked.phone, MAX_KEYS);
  }

  /**
   * One page of the recipient's deliveries across communications, newest first, with statuses.
   * `statusChecked` is false when reporting could not be asked (the page is still shown).
   */
  async page(q: HistoryQuery, input: { pageSize: number; pageToken: string }) {
    const limit = pageSize(input.pageSize, 100, 500);
    const after = decodeCursor(input.pageToken);
    const keys = await this.keysOf(q);
    const docs = keys.length === 0 ? [] : await this.deps.store.deliveriesOf(keys, limit + 1, after);
    const page = docs.slice(0, limit);
    const communications = new Map<string, CommunicationDoc | undefined>();
    for (const d of page) {
      if (!communications.has(d.communicationId))
        communications.set(d.communicationId, (await this.deps.store.getCommunication(d.communicationId)) ?? undefined);
    }
    // One call to reporting for the whole page (not one per entry).
    let statuses: ReadonlyMap<string, { status: StatusKey; response: string }> = new Map();
    let statusChecked = this.deps.records !== undefined;
    if (this.deps.records && page.length > 0) {
      try {
        statuses = await this.deps.records.records(page.map((d) => d._id));
      } catch (error) {
        statusChecked = false;
        this.deps.logger.warn({ err: String(error) }, 'history: reporting could not be asked for statuses');
      }
    }
    const entries: RecipientHistoryEntry[] = page.map((delivery) => {
      const communication = communications.get(delivery.communicationId);
      const held = communication ? !isIncluded(delivery, communication) : false;
      const sent = communication !== undefined && communication.state !== 'draft' && !held;
      const shown = statuses.get(delivery._id);
      return {
        delivery,
        communication,
        heldByPreference: held,
        attempt: sent ? (delivery.attempt ?? 1) : 0,
        status: shown?.status,
        response: shown?.response ?? '',
      };
    });
    const last = page.at(-1);
    return {
      entries,
      statusChecked,
      nextPageToken: docs.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last._id }) : '',
    };
  }
}
