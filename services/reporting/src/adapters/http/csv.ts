// CSV for the exports: RFC 4180 quoting, and no cell a spreadsheet would run as a formula.
import type { DeliveryRecordView } from '../../domain/report-queries.js';

/**
 * One CSV cell. A value starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed
 * with `'` so a spreadsheet shows it as text instead of evaluating it (CSV/formula injection); a
 * value with a comma, a semicolon or tab (the separators some locales' spreadsheets split on), a
 * quote or a line break is quoted, quotes doubled.
 */
export function csvCell(value: string | number | null | undefined): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",;\t\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header line of both exports. */
export const CSV_HEADER =
  'id,communication_id,recipient,address,channel,status,status_label,response,reason_code,attempt,flags,created_at,last_update\r\n';

/** One record as a CSV line (with its CRLF). */
export function csvLine(r: DeliveryRecordView): string {
  return `${[
    r.id,
    r.communicationId,
    r.recipientName,
    r.address,
    r.channel ?? '',
    r.status,
    r.statusLabel,
    r.response,
    r.reasonCode,
    r.attempt,
    r.flags.join(' '),
    r.createdAt.toISOString(),
    r.updatedAt.toISOString(),
  ]
    .map(csvCell)
    .join(',')}\r\n`;
}
