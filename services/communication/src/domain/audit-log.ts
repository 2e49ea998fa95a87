// The audit log of operator actions: one entry per override, resend, cancel, lift and erasure, with
// the authenticated caller. Entries never hold an email address, phone number or name.
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@dlr/core';

/** What was done. */
export type AuditKind = 'override' | 'resend' | 'cancel' | 'lift' | 'erasure' | 'delete_draft';

export const AUDIT_KINDS: readonly AuditKind[] = ['override', 'resend', 'cancel', 'lift', 'erasure', 'delete_draft'];

/** One entry as stored in `audit_log`. */
export interface AuditEntry {
  /** A UUID; name-based ({@link auditId}) so that recording the same action again is a no-op. */
  _id: string;
  kind: AuditKind;
  /** The authenticated caller (`token:admin-token`, `oidc:<sub>`), never a name typed in a form. */
  actor: string;
  at: Date;
  reason: string;
  communicationId?: string;
  /** What happened, in words without personal data. */
  summary: string;
}

/** Which entries to list; every field optional. `from` inclusive, `to` exclusive. */
export interface AuditFilter {
  kind?: AuditKind | undefined;
  actor?: string | undefined;
  communicationId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** Where the audit log is kept. */
export interface AuditLog {
  /** Stores an entry; an entry with the same `_id` already there is kept (idempotent). */
  record(entry: AuditEntry): Promise<void>;
  /** Entries matching `filter`, newest first (`at`, then `_id`), after the cursor. */
  list(filter: AuditFilter, limit: number, after?: { at: Date; id: string }): Promise<AuditEntry[]>;
}

/**
 * The UUID (version 5 layout, SHA-1 over a fixed namespace and `name`) of an audited action, e.g.
 * `cancel:<communicationId>`: a retried action records the same entry instead of a second one.
 */
export function auditId(name: string): string {
  const h = createHash('sha1').update('dlr-audit-log/v1:').update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function encode(c: { at: Date; id: string }): string {
  return Buffer.from(JSON.stringify([c.at.getTime(), c.id])).toString('base64url');
}

function decode(token: string): { at: Date; id: string } | undefined {
  if (token === '') return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string' && v[1].length <= 100)
      return { at: new Date(v[0]), id: v[1] };
  } catch {
    // fall through
  }
  throw new InvalidArgumentError('invalid page_token', ['page_token: not a cursor this service issued']);
}

/** Reads the audit log for operators (admin). */
export class AuditQueries {
  constructor(private readonly log: AuditLog) {}

  /** One page, newest first. Throws InvalidArgumentError for a bad filter, page size or token (nothing read). */
  async list(input: { filter: AuditFilter; pageSize: number; pageToken: string }) {
    const problems: string[] = [];
    const { filter } = input;
    if (filter.actor !== undefined && filter.actor.length > 300) problems.push('actor: at most 300 characters');
    if (filter.communicationId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(filter.communicationId))
      problems.push('communication_id: not a communication ID');
    for (const [name, d] of [
      ['from', filter.from],
      ['to', filter.to],
    ] as const) {
      if (d !== undefined && Number.isNaN(d.getTime())) problems.push(`${name}: not a time`);
    }
    if (filter.from && filter.to && filter.from.getTime() >= filter.to.getTime())
      problems.push('to: must be after from');
    const size = input.pageSize === 0 ? 50 : input.pageSize;
    if (!Number.isInteger(size) || size < 1 || size > 200) problems.push('page_size: must be 1 to 200');
    if (problems.length > 0) throw new InvalidArgumentError('invalid audit log query', problems);
    const docs = await this.log.list(filter, size + 1, decode(input.pageToken));
    const entries = docs.slice(0, size);
    const last = entries.at(-1);
    return { entries, nextPageToken: docs.length > size && last ? encode({ at: last.at, id: last._id }) : '' };
  }
}
