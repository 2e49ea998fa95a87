// Private copy of the simulator's signing scheme until @dlr/provider-simulator exports
// `signSimulatorCallback` / `verifySimulatorSignature`; the two should then be unified.
import { createHmac, timingSafeEqual } from 'node:crypto';

const HEADER = /^v1=([0-9a-fA-F]{64})$/;
const TIMESTAMP = /^\d{1,12}$/;

/** Hex HMAC-SHA256(secret, "<timestamp>.<raw body>"), computed on the exact body bytes. */
function digest(secret: string, timestamp: string, rawBody: Uint8Array | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** Returns the `X-Simulator-Signature` value (`v1=<hex>`) for a callback body sent at `timestamp`. */
export function signSimulatorCallback(
  secret: string,
  timestamp: number | string,
  rawBody: Uint8Array | string,
): string {
  return `v1=${digest(secret, String(timestamp), rawBody).toString('hex')}`;
}

/**
 * True when `header` is `v1=<hex>` over `"<timestamp>.<raw body>"` with `secret` (compared in
 * constant time) and `timestamp` (unix seconds) is within `toleranceSeconds` of `nowSeconds`, in
 * either direction. Never throws: a missing or malformed header or timestamp is simply false.
 */
export function verifySimulatorSignature(
  secret: string,
  timestamp: string | undefined,
  rawBody: Uint8Array | string,
  header: string | undefined,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  if (timestamp === undefined || header === undefined || !TIMESTAMP.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const match = HEADER.exec(header.trim());
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], 'hex');
  const expected = digest(secret, timestamp, rawBody);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
