import { InvalidArgumentError } from '@dlr/core';
import { describe, expect, it } from 'vitest';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, parseLimit, wholeDays } from './report-queries.js';

describe('paging input', () => {
  it('reads limits from text or number, defaulting when absent', () => {
    expect(parseLimit(undefined)).toBe(DEFAULT_LIMIT);
    expect(parseLimit('')).toBe(DEFAULT_LIMIT);
    expect(parseLimit(0)).toBe(DEFAULT_LIMIT);
    expect(parseLimit('1')).toBe(1);
    expect(parseLimit(1000)).toBe(1000);
    for (const bad of ['0', '1001', '-1', '1e2', ' 5', '5.0', 1001, 2.5]) {
      expect(() => parseLimit(bad), String(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('round-trips cursors and rejects ones it did not make', () => {
    expect(decodeCursor(encodeCursor('d_AbC-_9'))).toBe('d_AbC-_9');
    expect(decodeCursor(undefined)).toBeUndefined();
    expect(decodeCursor('')).toBeUndefined();
    for (const bad of ['***', 'ZA==', encodeCursor('has space')]) {
      expect(() => decodeCursor(bad), bad).toThrow(/cursor/);
    }
  });
});

describe('wholeDays', () => {
  it('lists the UTC days of a range of whole days, and nothing for any other range', () => {
    const d = (iso: string) => new Date(iso);
    expect(wholeDays(d('2026-12-03T00:00:00Z'), d('2026-12-05T00:00:00Z'))).toEqual(['2026-12-03', '2026-12-04']);
    expect(wholeDays(d('2026-12-03T00:00:00Z'), d('2026-12-04T00:00:01Z'))).toBeUndefined();
    expect(wholeDays(undefined, d('2026-12-04T00:00:00Z'))).toBeUndefined();
    expect(wholeDays(d('2026-12-04T00:00:00Z'), d('2026-12-04T00:00:00Z'))).toBeUndefined();
    expect(wholeDays(d('2020-01-01T00:00:00Z'), d('2026-01-01T00:00:00Z'))).toBeUndefined();
  });
});
