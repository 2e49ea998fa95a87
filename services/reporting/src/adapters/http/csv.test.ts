import { describe, expect, it } from 'vitest';
import { csvCell } from './csv.js';

describe('csvCell', () => {
  it.each([
    ['a,b', '"a,b"'],
    ['a;b', '"a;b"'],
    ['a\tb', '"a\tb"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\rbreak', '"line\rbreak"'],
    ['line\nbreak', '"line\nbreak"'],
  ])('quotes %j (a separator some spreadsheet locales split on, a quote or a line break)', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('leaves plain text, numbers and empty values as they are', () => {
    expect(csvCell('Jane Doe')).toBe('Jane Doe');
    expect(csvCell('jane@example.org')).toBe('jane@example.org');
    expect(csvCell(3)).toBe('3');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+61400000000', "'+61400000000"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', '"\'\t=1"'],
    ['\r=1', '"\'\r=1"'],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['=1;2', '"\'=1;2"'],
  ])('keeps %j from running as a formula', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});
