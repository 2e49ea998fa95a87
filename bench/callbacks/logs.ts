// A summary of the warnings and errors the system's processes logged during the run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_PROCESSES } from '@dlr/testing';

/** Warning and error lines per process, grouped by message (and error code when there is one). */
export function logProblems(logDir: string): string[] {
  const lines: string[] = [];
  for (const name of SYSTEM_PROCESSES) {
    const groups = new Map<string, number>();
    for (const line of readLines(join(logDir, `${name}.log`))) {
      const entry = parse(line);
      if (!entry || (entry.level !== 'warn' && entry.level !== 'error' && entry.level !== 'fatal')) continue;
      const detail = typeof entry.reason === 'string' ? entry.reason : JSON.stringify(entry.err ?? '');
      const key = `${entry.level}: ${entry.msg ?? '?'}${causeOf(detail)}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    if (groups.size === 0) continue;
    const parts = [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${n}× ${key}`);
    lines.push(`${name}: ${parts.join('; ')}`);
  }
  return lines;
}

/** ` (<SQLite code or error class>)` of a logged reason, or empty. */
function causeOf(detail: string): string {
  const code = /\b(SQLITE_[A-Z]+|E11000)\b/.exec(detail) ?? /\b([A-Z][A-Za-z]+Error)\b/.exec(detail);
  return code ? ` (${code[1]})` : '';
}

interface LogEntry {
  level?: string;
  msg?: string;
  reason?: unknown;
  err?: unknown;
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function parse(line: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return undefined;
  }
}
