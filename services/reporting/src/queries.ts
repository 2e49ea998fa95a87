// The reads behind REST, gRPC and the HTML report: one place that pages, counts and validates.
import { InvalidArgumentError, NotFoundError } from '@dlr/platform';
import { viewOf, type StatusCounts, type StatusView } from '@dlr/status-engine';
import type { RecordsRepository } from './adapters/mongo/records.js';
import type { ChannelKey, DeliveryRecordRow, TimelineEntry } from './domain/model.js';

/** Page size when the caller names none. */
export const DEFAULT_LIMIT = 100;
/** Largest page a caller may ask for. */
export const MAX_LIMIT = 1_000;

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A delivery record as the reports show it. */
export interface DeliveryRecordView extends StatusView {
  readonly id: string;
  readonly communicationId: string;
  readonly channel: ChannelKey | null;
  readonly recipientName: string;
  readonly address: string;
  readonly updatedAt: Date;
}

/** One page of a communication's records with its counts per status. */
export interface RecordPage {
  readonly communicationId: string;
  readonly total: number;
  readonly counts: StatusCounts;
  readonly records: readonly DeliveryRecordView[];
  /** Opaque; undefined on the last page. */
  readonly nextCursor: string | undefined;
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

/** What a person sees of a stored record. */
export function toView(row: DeliveryRecordRow): DeliveryRecordView {
  return {
    id: row.id,
    communicationId: row.communicationId,
    channel: row.channel,
    recipientName: row.recipientName,
    address: row.address,
    ...viewOf(row.state),
    updatedAt: row.updatedAt,
  };
}

/** Read side of reporting. */
export class ReportQueries {
  readonly #repo: RecordsRepository;

  constructor(repo: RecordsRepository) {
    this.#repo = repo;
  }

  /**
   * One page of a communication's records (in ID order) with counts per status. A communication
   * with no records yet gives total 0 (its records may not have arrived). Throws an
   * {@link InvalidArgumentError} for a bad ID, limit or cursor.
   */
  async list(input: { communicationId: string; limit: number; cursor: string | undefined }): Promise<RecordPage> {
    const communicationId = checkId(input.communicationId, 'communication id');
    const after = decodeCursor(input.cursor);
    const [counts, rows] = await Promise.all([
      this.#repo.countByStatus(communicationId),
      this.#repo.page(communicationId, after, input.limit + 1),
    ]);
    const more = rows.length > input.limit;
    const records = rows.slice(0, input.limit).map(toView);
    const last = records.at(-1);
    return {
      communicationId,
      total: Object.values(counts).reduce((a, b) => a + b, 0),
      counts,
      records,
      nextCursor: more && last ? encodeCursor(last.id) : undefined,
    };
  }

  /** One record and its timeline. Throws a {@link NotFoundError} when there is no such record. */
  async get(deliveryId: string): Promise<{ record: DeliveryRecordView; timeline: TimelineEntry[] }> {
    checkId(deliveryId, 'delivery record id');
    const [row, timeline] = await Promise.all([this.#repo.get(deliveryId), this.#repo.timeline(deliveryId)]);
    if (!row) throw new NotFoundError(`no delivery record ${deliveryId}`);
    return { record: toView(row), timeline };
  }
}
