// The reads behind REST, gRPC and the HTML reports: validates input, pages, counts and filters over
// the ReportReads port.
import { InvalidArgumentError, NotFoundError } from '@dlr/core';
import {
  emptyCounts,
  isStatusKey,
  STATUS_KEYS,
  viewOf,
  type StatusCounts,
  type StatusKey,
  type StatusView,
} from '@dlr/status-engine';
import type { CountHistoryStore, CountsSnapshot } from './history.js';
import type { ChannelKey, DeliveryRecordRow, TimelineEntry } from './model.js';
import type { ChannelStatusTotal, CommunicationCounts, RecordQuery, ReportReads, TitleStore } from './reads.js';

/** Page size when the caller names none. */
export const DEFAULT_LIMIT = 100;
/** Largest page a caller may ask for. */
export const MAX_LIMIT = 1_000;
/** Longest recipient search text. */
export const MAX_SEARCH = 100;
/** Longest response option. */
export const MAX_RESPONSE = 200;
/** Most count snapshots the Delivery Report's chart draws (the first ones and the latest). */
export const MAX_HISTORY_POINTS = 240;

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A delivery record as the reports show it. */
export interface DeliveryRecordView extends StatusView {
  readonly id: string;
  readonly communicationId: string;
  readonly channel: ChannelKey | null;
  readonly recipientName: string;
  readonly address: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Filters both reports have. */
interface StatusChannelFilters {
  readonly statuses?: readonly StatusKey[];
  readonly channels?: readonly ChannelKey[];
}

/** Filters of the Delivery Report (one communication). */
export interface RecordFilters extends StatusChannelFilters {
  readonly response?: string;
  readonly search?: string;
}

/** One page of a communication's records with its counts. */
export interface RecordPage {
  readonly communicationId: string;
  /** The communication's title; '' until reporting has heard it. */
  readonly title: string;
  /** Every record of the communication. */
  readonly total: number;
  /** Records matching the filters; null when only a scan could tell (a recipient search). */
  readonly matching: number | null;
  readonly counts: StatusCounts;
  /** Records per response option (only options some record shows). */
  readonly responses: Readonly<Record<string, number>>;
  readonly filters: RecordFilters;
  readonly records: readonly DeliveryRecordView[];
  /** Opaque; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

/** Filters of the Message Delivery Report (across communications). */
export interface MessageFilters extends StatusChannelFilters {
  readonly communicationId?: string;
  /** Sent (first handed on by dispatch) at or after. */
  readonly from?: Date;
  /** Sent before. */
  readonly to?: Date;
}

/** A page of the Message Delivery Report with its totals per channel × status. */
export interface MessagePage {
  readonly filters: MessageFilters;
  readonly totals: readonly ChannelStatusTotal[];
  readonly total: number;
  readonly records: readonly DeliveryRecordView[];
  readonly nextCursor: string | undefined;
  /** Titles of the communications on the page and in the filter, by ID (absent: not heard yet). */
  readonly titles: ReadonlyMap<string, string>;
}

/** Throws an {@link InvalidArgumentError} unless `id` looks like one of our IDs. */
export function checkId(id: string, what: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(`${what} must be 1 to 128 characters from A-Z a-z 0-9 _ -`);
  }
  return id;
}

/**
 * Reads a page size given as text (REST) or number (gRPC, where 0 means "not given"). Throws an
 * {@link InvalidArgumentError} unless it is an integer from 1 to {@link MAX_LIMIT}.
 */
export function parseLimit(raw: string | number | undefined): number {
  if (raw === undefined || raw === '' || raw === 0) return DEFAULT_LIMIT;
  const n = typeof raw === 'number' ? raw : /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return n;
}

/** The cursor that continues after the record with this ID. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/**
 * The record ID a cursor continues after; undefined for no cursor. Throws an
 * {@link InvalidArgumentError} for a cursor this service did not return.
 */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const id = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!ID_PATTERN.test(id) || encodeCursor(id) !== cursor) {
    throw new InvalidArgumentError('cursor is not one this service returned; start again without it');
  }
  return id;
}

/**
 * Checks filter values from any edge (REST has already checked them against its JSON schema; gRPC
 * has not). Throws an {@link InvalidArgumentError} naming the bad field.
 */
export function checkFilters(input: {
  statuses?: readonly string[] | undefined;
  channels?: readonly string[] | undefined;
  response?: string | undefined;
  search?: string | undefined;
}): RecordFilters {
  const statuses = [...new Set(input.statuses ?? [])];
  for (const s of statuses)
    if (!isStatusKey(s)) throw new InvalidArgumentError(`status must be one of ${STATUS_KEYS.join(', ')}`);
  const channels = [...new Set(input.channels ?? [])];
  for (const c of channels)
    if (c !== 'email' && c !== 'sms') throw new InvalidArgumentError('channel must be email or sms');
  const response = input.response === '' ? undefined : input.response;
  if (response !== undefined && (typeof response !== 'string' || response.length > MAX_RESPONSE)) {
    throw new InvalidArgumentError(`response must be text of at most ${MAX_RESPONSE} characters`);
  }
  const search = input.search?.trim() === '' ? undefined : input.search?.trim();
  if (search !== undefined && (typeof search !== 'string' || search.length > MAX_SEARCH)) {
    throw new InvalidArgumentError(`search must be text of at most ${MAX_SEARCH} characters`);
  }
  return {
    ...(statuses.length ? { statuses: statuses as StatusKey[] } : {}),
    ...(channels.length ? { channels: channels as ChannelKey[] } : {}),
    ...(response !== undefined ? { response } : {}),
    ...(search !== undefined ? { search } : {}),
  };
}

/** What a person sees of a stored record. */
export function toView(row: DeliveryRecordRow): DeliveryRecordView {
  return {
    id: row.id,
    communicationId: row.communicationId,
    channel: row.channel,
    recipientName: row.recipientName,
    address: row.address,
    ...viewOf(row.state),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * How many records match status/channel/response filters, from the counters alone; null when the
 * counters cannot tell (a search, or a response combined with a status or channel).
 */
export function matchingFromCounts(counts: CommunicationCounts, f: RecordFilters): number | null {
  if (f.search !== undefined) return null;
  if (f.response !== undefined) {
    return f.statuses?.length || f.channels?.length ? null : (counts.response[f.response] ?? 0);
  }
  const statuses = f.statuses?.length ? f.statuses : STATUS_KEYS;
  const channels: (ChannelKey | 'unknown')[] = f.channels?.length ? [...f.channels] : ['email', 'sms', 'unknown'];
  let n = 0;
  for (const c of channels) for (const s of statuses) n += counts.channel[c][s];
  return n;
}

/** Read side of reporting. */
export class ReportQueries {
  readonly #reads: ReportReads;
  readonly #titles: TitleStore | undefined;
  readonly #history: CountHistoryStore | undefined;

  constructor(reads: ReportReads, titles?: TitleStore, history?: CountHistoryStore) {
    this.#reads = reads;
    this.#titles = titles;
    this.#history = history;
  }

  /**
   * The count snapshots of a communication for its chart of statuses over time (at most
   * {@link MAX_HISTORY_POINTS}, oldest first; none without a history store). Throws for a bad ID.
   */
  async history(communicationId: string): Promise<CountsSnapshot[]> {
    const id = checkId(communicationId, 'communication id');
    return this.#history ? this.#history.list(id, MAX_HISTORY_POINTS) : [];
  }

  /** Titles by communication ID (empty without a title store). */
  async titles(communicationIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    return this.#titles ? this.#titles.get(communicationIds) : new Map();
  }

  /** The reads, for the live-update watcher. */
  get reads(): ReportReads {
    return this.#reads;
  }

  /** Every count of a communication (by `_id` reads of its counters). Throws for a bad ID. */
  async counts(communicationId: string): Promise<CommunicationCounts> {
    return this.#reads.counts(checkId(communicationId, 'communication id'));
  }

  /**
   * One page of a communication's records (in ID order, filtered) with its counts. A communication
   * with no records yet gives total 0 (its records may not have arrived). Throws an
   * {@link InvalidArgumentError} for a bad ID, limit, cursor or filter.
   */
  async list(input: {
    communicationId: string;
    limit: number;
    cursor: string | undefined;
    filters?: RecordFilters;
  }): Promise<RecordPage> {
    const communicationId = checkId(input.communicationId, 'communication id');
    const after = decodeCursor(input.cursor);
    const filters = input.filters ?? {};
    const [counts, rows, titles] = await Promise.all([
      this.#reads.counts(communicationId),
      this.#reads.page({ communicationId, ...filters }, after, input.limit + 1),
      this.titles([communicationId]),
    ]);
    const more = rows.length > input.limit;
    const records = rows.slice(0, input.limit).map(toView);
    const last = records.at(-1);
    return {
      communicationId,
      title: titles.get(communicationId) ?? '',
      total: counts.total,
      matching: matchingFromCounts(counts, filters),
      counts: counts.status,
      responses: counts.response,
      filters,
      records,
      nextCursor: more && last ? encodeCursor(last.id) : undefined,
    };
  }

  /** IDs of every record of a communication matching the filters, in ID order. Throws for a bad ID. */
  ids(communicationId: string, filters: RecordFilters): AsyncGenerator<string> {
    return this.#reads.ids({ communicationId: checkId(communicationId, 'communication id'), ...filters });
  }

  /** Every record matching a query, in ID order, as views (for CSV). */
  async *rows(q: RecordQuery): AsyncGenerator<DeliveryRecordView> {
    if (q.communicationId !== undefined) checkId(q.communicationId, 'communication id');
    for await (const row of this.#reads.rows(q)) yield toView(row);
  }

  /** The records with these IDs (at most 500; unknown ones left out). Throws InvalidArgumentError. */
  async getMany(deliveryIds: readonly string[]): Promise<DeliveryRecordView[]> {
    if (deliveryIds.length > 500) throw new InvalidArgumentError('at most 500 ids');
    for (const id of deliveryIds) checkId(id, 'delivery record id');
    if (deliveryIds.length === 0) return [];
    return (await this.#reads.getMany([...new Set(deliveryIds)])).map(toView);
  }

  /** One record and its timeline. Throws a {@link NotFoundError} when there is no such record. */
  async get(deliveryId: string): Promise<{ record: DeliveryRecordView; timeline: TimelineEntry[] }> {
    checkId(deliveryId, 'delivery record id');
    const [row, timeline] = await Promise.all([this.#reads.get(deliveryId), this.#reads.timeline(deliveryId)]);
    if (!row) throw new NotFoundError(`no delivery record ${deliveryId}`);
    return { record: toView(row), timeline };
  }

  /**
   * The Message Delivery Report: totals per channel × status and one page of records matching the
   * filters. With only a communication (and status/channel filters) the totals come from its
   * counters; a date range needs the aggregation. Throws an {@link InvalidArgumentError} for bad input.
   */
  async messages(input: { filters: MessageFilters; limit: number; cursor: string | undefined }): Promise<MessagePage> {
    const f = input.filters;
    if (f.communicationId !== undefined) checkId(f.communicationId, 'communication id');
    if (f.from && f.to && f.from.getTime() >= f.to.getTime()) {
      throw new InvalidArgumentError('from must be before to');
    }
    const after = decodeCursor(input.cursor);
    const q: RecordQuery = { ...f };
    const days = wholeDays(f.from, f.to);
    const totalsRead =
      f.communicationId !== undefined && f.from === undefined && f.to === undefined
        ? this.#reads.counts(f.communicationId).then((c) => totalsFromCounts(c, f))
        : days !== undefined
          ? (f.communicationId === undefined
              ? this.#reads.countsOfDays(days)
              : this.#reads.countsOf(days.map((d) => `${f.communicationId}@${d}`))
            ).then((c) => totalsFromCounts(c, f))
          : this.#reads.totals(q);
    const [totals, rows] = await Promise.all([totalsRead, this.#reads.page(q, after, input.limit + 1)]);
    const more = rows.length > input.limit;
    const records = rows.slice(0, input.limit).map(toView);
    const last = records.at(-1);
    const ids = records.map((r) => r.communicationId);
    if (f.communicationId !== undefined) ids.push(f.communicationId);
    return {
      filters: f,
      totals,
      total: totals.reduce((a, t) => a + t.count, 0),
      records,
      nextCursor: more && last ? encodeCursor(last.id) : undefined,
      titles: await this.titles(ids),
    };
  }
}

/** At most this many days of day-bucket counters are read for one report (longer ranges aggregate). */
export const MAX_COUNTED_DAYS = 400;

/**
 * The UTC days (`YYYY-MM-DD`) a date range covers when both ends fall on midnight UTC (the report's
 * date inputs), so its totals can be summed from the day buckets; undefined otherwise.
 */
export function wholeDays(from: Date | undefined, to: Date | undefined): string[] | undefined {
  if (from === undefined || to === undefined) return undefined;
  const DAY = 86_400_000;
  if (from.getTime() % DAY !== 0 || to.getTime() % DAY !== 0) return undefined;
  const n = (to.getTime() - from.getTime()) / DAY;
  if (n < 1 || n > MAX_COUNTED_DAYS) return undefined;
  return Array.from({ length: n }, (_, i) => new Date(from.getTime() + i * DAY).toISOString().slice(0, 10));
}

function totalsFromCounts(counts: CommunicationCounts, f: MessageFilters): ChannelStatusTotal[] {
  const out: ChannelStatusTotal[] = [];
  const channels: (ChannelKey | 'unknown')[] = f.channels?.length ? [...f.channels] : ['email', 'sms', 'unknown'];
  const statuses = f.statuses?.length ? f.statuses : STATUS_KEYS;
  for (const channel of channels) {
    for (const status of statuses) {
      const count = counts.channel[channel][status];
      if (count > 0) out.push({ channel, status, count });
    }
  }
  return out;
}

/** Totals as a channel → status → count table, every cell present. */
export function totalsTable(totals: readonly ChannelStatusTotal[]): Record<ChannelKey | 'unknown', StatusCounts> {
  const table = { email: emptyCounts(), sms: emptyCounts(), unknown: emptyCounts() };
  for (const t of totals) table[t.channel][t.status] += t.count;
  return table;
}
