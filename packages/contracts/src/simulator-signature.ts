// The provider simulator's callback signature: the simulator signs with it, provider-callback checks it.
// It lives here because production provider-callback may depend on contracts, never on the simulator.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the unix-seconds timestamp the signature covers. */
export const SIMULATOR_TIMESTAMP_HEADER = 'x-simulator-timestamp';
/** Header carrying `v1=<hex HMAC-SHA256>`. */
export const SIMULATOR_SIGNATURE_HEADER = 'x-simulator-signature';

const SIGNATURE = /^v1=([0-9a-fA-F]{64})$/;
const TIMESTAMP = /^\d{1,12}$/;

function mac(secret: string, timestamp: number | string, rawBody: Uint8Array | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/**
 * The `X-Simulator-Signature` value for a callback: `v1=` + hex HMAC-SHA256(secret,
 * `"<timestamp>.<raw body>"`), over the exact body bytes.
 */
export function signSimulatorCallback(
  secret: string,
  timestamp: number | string,
  rawBody: Uint8Array | string,
): string {
  return `v1=${mac(secret, timestamp, rawBody).toString('hex')}`;
}

/**
 * True when `header` (see {@link signSimulatorCallback}) is a valid signature of `rawBody` at `timestamp`
 * (unix seconds) with `secret`, compared in constant time, and the timestamp is within `toleranceSeconds` of
 * `nowSeconds` (either direction: the replay window). Never throws; anything missing or malformed is false.
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
  const match = SIGNATURE.exec(header.trim());
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], 'hex');
  const expected = mac(secret, timestamp, rawBody);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
