// The read side's port: what the reports need from the store. adapters/mongo/report-reads.ts implements it.
import type { StatusCounts, StatusKey } from '@dlr/status-engine';
import type { ChannelKey, DeliveryRecordRow, TimelineEntry } from './model.js';

/** What the reports may filter records by; every field already validated. */
export interface RecordQuery {
  /** One communication (the Delivery Report; optional in the Message Delivery Report). */
  readonly communicationId?: string | undefined;
  /** Any of these shown statuses (none: every status). */
  readonly statuses?: readonly StatusKey[] | undefined;
  /** Any of these channels (none: both). */
  readonly channels?: readonly ChannelKey[] | undefined;
  /** Exactly this response. */
  readonly response?: string | undefined;
  /** Text the recipient's name or address contains (case-insensitive, matched literally). */
  readonly search?: string | undefined;
  /** Records sent (first handed on by dispatch) at or after this time. */
  readonly from?: Date | undefined;
  /** Records sent before this time. */
  readonly to?: Date | undefined;
}

/** Records whose shown status or response changed, oldest change first. */
export interface ChangedRows {
  readonly rows: DeliveryRecordRow[];
  /** True when there were more than were returned (ask again from the last row's `updatedAt`). */
  readonly more: boolean;
}

/** One cell of the channel × status totals. */
export interface ChannelStatusTotal {
  readonly channel: ChannelKey | 'unknown';
  readonly status: StatusKey;
  readonly count: number;
}

/** All counts of a communication. */
export interface CommunicationCounts {
  readonly total: number;
  readonly status: StatusCounts;
  readonly channel: Readonly<Record<ChannelKey | 'unknown', StatusCounts>>;
  /** Records per response shown (only responses some record shows). */
  readonly response: Readonly<Record<string, number>>;
}

/** Reads of the two reports, the record page and live updates. Inputs are already validated. */
export interface ReportReads {
  /** Every count of a communication: total, per status, per channel and status, per response. */
  counts(communicationId: string): Promise<CommunicationCounts>;
  /** The counts of several communications or day buckets (see `dayBuckets`), summed. */
  countsOf(keys: readonly string[]): Promise<CommunicationCounts>;
  /** Every communication's day buckets of these UTC days (`YYYY-MM-DD`), summed. */
  countsOfDays(days: readonly string[]): Promise<CommunicationCounts>;
  /** Up to `limit` records matching the query with ID after `afterId`, in ID order. */
  page(q: RecordQuery, afterId: string | undefined, limit: number): Promise<DeliveryRecordRow[]>;
  /** IDs of every record matching the query, in ID order. */
  ids(q: RecordQuery): AsyncGenerator<string>;
  /** Every record matching the query, in ID order, streamed. */
  rows(q: RecordQuery): AsyncGenerator<DeliveryRecordRow>;
  /** Records of a communication updated at or after `since`, oldest update first, at most `limit`. */
  changedSince(communicationId: string, since: Date, limit: number): Promise<ChangedRows>;
  /** Records matching the query per channel and shown status (cells with a count only). */
  totals(q: RecordQuery): Promise<ChannelStatusTotal[]>;
  /** One record, or undefined. */
  get(deliveryId: string): Promise<DeliveryRecordRow | undefined>;
  /** The records with these IDs (absent and removed ones left out), in no particular order. */
  getMany(deliveryIds: readonly string[]): Promise<DeliveryRecordRow[]>;
  /** A record's timeline (capped: the first 10 and the last 40 events), in timeline order. */
  timeline(deliveryId: string): Promise<TimelineEntry[]>;
}

/** Reporting's own copy of communication titles (from communication's events, never its collections). */
export interface TitleStore {
  /** Keeps `title` unless a copy newer than `at` is already there. */
  set(communicationId: string, title: string, at: Date): Promise<void>;
  /** The titles known among these communications (absent: not heard of yet). */
  get(communicationIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /** Rewrites the titles of these communications with `scrub` (an erased person's name), as of `at`. */
  scrub(communicationIds: readonly string[], scrub: (title: string) => string, at: Date): Promise<void>;
}
