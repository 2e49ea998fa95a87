import { InvalidArgumentError } from '@dlr/core';
import { describe, expect, it } from 'vitest';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, parseLimit } from './report-queries.js';

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
