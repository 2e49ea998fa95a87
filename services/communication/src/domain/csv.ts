// Recipients pasted or uploaded by an operator, as CSV (or tab-separated, as pasted from a spreadsheet).
import type { ChannelName } from './model.js';
import type { PhoneRules } from './phone.js';
import { FIELD_NAME } from './merge.js';
import { checkRecipientRow, type RecipientRow, type RowProblem } from './validation.js';

/** Most data rows one paste or upload may carry. */
export const MAX_CSV_ROWS = 10_000;

const COLUMNS = ['name', 'email', 'phone', 'external_id', 'opt_out'] as const;
type Column = (typeof COLUMNS)[number];
const ALIASES: Record<string, Column> = {
  name: 'name',
  full_name: 'name',
  email: 'email',
  email_address: 'email',
  phone: 'phone',
  mobile: 'phone',
  phone_number: 'phone',
  external_id: 'external_id',
  id: 'external_id',
  opt_out: 'opt_out',
  opted_out: 'opt_out',
};

/** A data row with the spreadsheet row number it came from (the header, when present, is row 1). */
export interface ParsedRow {
  readonly row: number;
  readonly recipient: RecipientRow;
}

/** A problem found in one row. */
export interface CsvProblem extends RowProblem {
  readonly row: number;
}

/**
 * Parses recipients from CSV text. The first line may be a header naming the columns (name, email,
 * phone, external_id, opt_out; any order; any other column is a merge field, `{{its_name}}` in the
 * message, named in lower case with `_` for spaces); without one the columns are in that order. Cells may be
 * quoted ("a, b" and "" for a quote). `opt_out` lists the channels the recipient opted out of
 * (`email`, `sms`, separated by `;` or spaces). Tab-separated text is accepted too. Blank lines are
 * skipped. Never throws: every problem is returned with its row number.
 */
export function parseRecipientCsv(text: string): { rows: ParsedRow[]; problems: CsvProblem[] } {
  const records = splitRecords(text.replace(/^\uFEFF/, ''));
  const problems: CsvProblem[] = [];
  const rows: ParsedRow[] = [];
  let columns: readonly (Column | null)[] = COLUMNS;
  // Header columns beyond the known ones: merge fields, by position.
  const extras: { index: number; key: string }[] = [];
  let first = true;
  for (const record of records) {
    if (record.cells.every((c) => c.trim() === '')) continue;
    if (first) {
      first = false;
      const keys = record.cells.map((c) =>
        c
          .trim()
          .toLowerCase()
          .replace(/[\s-]+/g, '_'),
      );
      if (keys.some((k) => k === 'name' || k === 'email' || k === 'phone' || k === 'mobile')) {
        const mapped: (Column | null)[] = [];
        keys.forEach((k, i) => {
          const column = ALIASES[k];
          if (column === undefined) {
            if (!FIELD_NAME.test(k) || extras.some((e) => e.key === k)) {
              problems.push({
                row: record.row,
                field: 'header',
                problem: extras.some((e) => e.key === k)
                  ? `column "${k}" is named twice`
                  : `column ${i + 1} "${record.cells[i]?.trim() ?? ''}" is neither one of ${COLUMNS.join(', ')} nor a merge-field name (letters, digits and _, starting with a letter)`,
              });
            } else extras.push({ index: i, key: k });
          } else if (mapped.includes(column)) {
            problems.push({ row: record.row, field: 'header', problem: `column "${column}" is named twice` });
          }
          mapped.push(column !== undefined && !mapped.includes(column) ? column : null);
        });
        columns = mapped;
        continue;
      }
    }
    if (record.unterminated) {
      problems.push({ row: record.row, field: 'row', problem: 'a quoted cell is not closed' });
      continue;
    }
    if (record.cells.length > Math.max(columns.length, ...extras.map((e) => e.index + 1))) {
      problems.push({
        row: record.row,
        field: 'row',
        problem: `has ${record.cells.length} columns; expected at most ${columns.length} (${columns.map((c) => c ?? '?').join(', ')})`,
      });
      continue;
    }
    const cell = (c: Column) => record.cells[columns.indexOf(c)]?.trim() ?? '';
    const optOut = parseOptOut(cell('opt_out'));
    if (typeof optOut === 'string') {
      problems.push({ row: record.row, field: 'opt_out', problem: optOut });
      continue;
    }
    const fields = Object.fromEntries(extras.map((e) => [e.key, record.cells[e.index]?.trim() ?? '']));
    rows.push({
      row: record.row,
      recipient: {
        name: cell('name'),
        email: cell('email'),
        phone: cell('phone'),
        externalId: cell('external_id'),
        optedOut: optOut,
        ...(extras.length > 0 ? { fields } : {}),
      },
    });
  }
  if (rows.length + problems.length > MAX_CSV_ROWS) {
    return { rows: [], problems: [{ row: 0, field: 'file', problem: `at most ${MAX_CSV_ROWS} rows at a time` }] };
  }
  return { rows, problems };
}

function parseOptOut(value: string): ChannelName[] | string {
  if (value === '') return [];
  const out = new Set<ChannelName>();
  for (const part of value.toLowerCase().split(/[;|\s]+/)) {
    if (part === '') continue;
    if (part === 'email' || part === 'sms') out.add(part);
    else return `"${part}" is not a channel; use email, sms or both (separated by ;)`;
  }
  return [...out];
}

interface RawRecord {
  row: number;
  cells: string[];
  unterminated: boolean;
}

/** Splits CSV text into records (RFC 4180 quoting; `\n`, `\r\n` or `\r` line ends), remembering each one's first line. */
function splitRecords(text: string): RawRecord[] {
  const firstLine = text.split(/\r\n|\n|\r/, 1)[0] ?? '';
  const sep = firstLine.includes('\t') && !firstLine.includes(',') ? '\t' : ',';
  const records: RawRecord[] = [];
  let line = 1;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
        cell += ch;
      }
    } else if (ch === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (ch === sep) {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      records.push({ row: start, cells, unterminated: false });
      cells = [];
      cell = '';
      line++;
      start = line;
    } else cell += ch;
  }
  if (cell !== '' || cells.length > 0 || quoted) {
    cells.push(cell);
    records.push({ row: start, cells, unterminated: quoted });
  }
  return records;
}

/**
 * Parses and checks pasted/uploaded recipients against a communication's channels: every problem of
 * every row, with its row number and field. The caller stores nothing unless `problems` is empty.
 */
export function checkRecipientCsv(
  text: string,
  channels: readonly ChannelName[],
  rules?: PhoneRules,
  /** The merge fields the message uses (a row without a value for one is refused). */
  used: readonly string[] = [],
): { rows: RecipientRow[]; problems: CsvProblem[] } {
  const parsed = parseRecipientCsv(text);
  const problems = [...parsed.problems];
  for (const { row, recipient } of parsed.rows) {
    const checked = checkRecipientRow(recipient, channels, rules, used);
    if (checked.problems) problems.push(...checked.problems.map((p) => ({ row, ...p })));
  }
  if (parsed.rows.length === 0 && problems.length === 0) {
    problems.push({ row: 0, field: 'file', problem: 'no recipients found: paste or upload at least one row' });
  }
  problems.sort((a, b) => a.row - b.row);
  return { rows: parsed.rows.map((r) => r.recipient), problems };
}
