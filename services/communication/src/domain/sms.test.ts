import { describe, expect, it } from 'vitest';
import { countSmsSegments, isGsm7 } from './sms.js';

describe('countSmsSegments', () => {
  it('fits 160 GSM-7 characters in one segment and splits 161 into two of 153', () => {
    expect(countSmsSegments('a'.repeat(160))).toEqual({ encoding: 'gsm7', length: 160, segments: 1, perSegment: 160 });
    expect(countSmsSegments('a'.repeat(161))).toEqual({ encoding: 'gsm7', length: 161, segments: 2, perSegment: 153 });
    expect(countSmsSegments('a'.repeat(306)).segments).toBe(2);
    expect(countSmsSegments('a'.repeat(307)).segments).toBe(3);
  });

  it('counts extension characters as two septets and never splits one across segments', () => {
    expect(countSmsSegments('€'.repeat(80))).toMatchObject({ encoding: 'gsm7', length: 160, segments: 1 });
    expect(countSmsSegments('€'.repeat(81))).toMatchObject({ length: 162, segments: 2 });
    // 152 septets then a 2-septet character: it goes whole into the second segment.
    expect(countSmsSegments(`${'a'.repeat(152)}{${'a'.repeat(153)}`)).toMatchObject({ length: 307, segments: 3 });
    expect(countSmsSegments(`${'a'.repeat(151)}{${'a'.repeat(153)}`)).toMatchObject({ length: 306, segments: 2 });
  });

  it('switches to UCS-2 for any character outside GSM-7: 70 in one segment, else 67 per segment', () => {
    expect(countSmsSegments(`${'a'.repeat(69)}ą`)).toEqual({
      encoding: 'ucs2',
      length: 70,
      segments: 1,
      perSegment: 70,
    });
    expect(countSmsSegments(`${'a'.repeat(70)}ą`)).toEqual({
      encoding: 'ucs2',
      length: 71,
      segments: 2,
      perSegment: 67,
    });
    expect(countSmsSegments('ą'.repeat(134)).segments).toBe(2);
    expect(countSmsSegments('ą'.repeat(135)).segments).toBe(3);
  });

  it('counts an emoji as two UCS-2 units and never splits the pair', () => {
    expect(countSmsSegments('🌊'.repeat(35))).toMatchObject({ encoding: 'ucs2', length: 70, segments: 1 });
    // 66 units then a pair: the pair moves whole to the next segment.
    expect(countSmsSegments(`${'ą'.repeat(66)}🌊${'ą'.repeat(66)}`)).toMatchObject({ length: 134, segments: 3 });
  });

  it('knows the GSM-7 alphabet, including Greek capitals and accented letters it has', () => {
    expect(isGsm7('Évacuez: ΔΦΓ @ £5 Ñ ü à\n')).toBe(true);
    expect(isGsm7('á')).toBe(false); // á is not in GSM-7 (à is)
    expect(countSmsSegments('')).toMatchObject({ segments: 0 });
  });
});
