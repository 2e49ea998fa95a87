// Phone numbers as libphonenumber-js (Google's metadata, "max" set: full number-range patterns) sees
// them: international or, with a default region, national formats; normalised to E.164. A number
// outside every allocated range of its country is refused, not just one of the wrong length.
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** How phone numbers given without a country code are read. */
export interface PhoneRules {
  /** ISO 3166 region of national formats (`0400 000 001` with `AU`); absent: only `+<country code>`. */
  readonly defaultRegion?: string | undefined;
}

/** True when libphonenumber-js has metadata for the ISO 3166 region code `region` (e.g. `AU`, `GB`). */
export function isPhoneRegion(region: string): boolean {
  return isSupportedCountry(region);
}

/** A phone number in E.164 (`+61400000001`), or the problem with it in words fit for an operator. */
export function checkPhone(
  value: string,
  rules: PhoneRules = {},
): { phone: string; problem?: undefined } | { phone?: undefined; problem: string } {
  const text = value.trim();
  const region = rules.defaultRegion;
  if (!text.startsWith('+') && region === undefined) {
    return { problem: 'not in international format: start with + and the country code (e.g. +61400000000)' };
  }
  const defaultCountry = region !== undefined && isSupportedCountry(region) ? region : undefined;
  const parsed = parsePhoneNumberFromString(text, { defaultCountry, extract: false });
  if (parsed === undefined || parsed.ext !== undefined) {
    return { problem: 'not a phone number (digits, spaces, dashes, dots and brackets only; no extension)' };
  }
  if (!parsed.isPossible()) return { problem: `not a phone number of +${parsed.countryCallingCode}: wrong length` };
  if (!parsed.isValid()) {
    return { problem: `not an allocated number range of +${parsed.countryCallingCode}` };
  }
  return { phone: parsed.number };
}
