// SMS segment counting (3GPP TS 23.038 alphabets, TS 23.040 concatenation headers).

/** The GSM 03.38 default alphabet (one septet each). */
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** The GSM 03.38 extension table: each character costs two septets (escape + code). */
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

/** How a text is encoded in SMS, its length in the encoding's units, and how many segments it takes. */
export interface SmsCount {
  readonly encoding: 'gsm7' | 'ucs2';
  /** GSM-7 septets (extension characters count 2) or UCS-2 code units (characters outside the BMP count 2). */
  readonly length: number;
  readonly segments: number;
  /** Units per segment at this length: 160/153 (GSM-7) or 70/67 (UCS-2). */
  readonly perSegment: number;
}

/** True when every character of `text` is in the GSM-7 default alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) return false;
  return true;
}

/**
 * Counts the segments an SMS text takes. GSM-7: up to 160 septets in one message, else 153 per
 * segment (the user data header takes 7); an escaped character is never split across segments.
 * UCS-2 (any character outside GSM-7): up to 70 code units in one message, else 67 per segment; a
 * surrogate pair is never split. An empty text takes 0 segments.
 */
export function countSmsSegments(text: string): SmsCount {
  if (isGsm7(text)) {
    const costs = [...text].map((ch) => (GSM7_EXTENSION.has(ch) ? 2 : 1));
    return pack('gsm7', costs, 160, 153);
  }
  const costs = [...text].map((ch) => ch.length); // UTF-16 code units: 2 for a surrogate pair
  return pack('ucs2', costs, 70, 67);
}

function pack(encoding: SmsCount['encoding'], costs: readonly number[], single: number, multi: number): SmsCount {
  const length = costs.reduce((a, b) => a + b, 0);
  if (length === 0) return { encoding, length, segments: 0, perSegment: single };
  if (length <= single) return { encoding, length, segments: 1, perSegment: single };
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > multi) {
      segments++;
      used = 0;
    }
    used += cost;
  }
  return { encoding, length, segments, perSegment: multi };
}
