// The provider simulator's callback signature, checked here as every other provider's is (its signer is the
// simulator's protocol.ts).
import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^v1=([0-9a-fA-F]{64})$/;
const TIMESTAMP = /^\d{1,12}$/;

/**
 * True when `header` (`X-Simulator-Signature`, `v1=` + hex HMAC-SHA256(secret, `"<timestamp>.<raw body>"`)) is a
 * valid signature of `rawBody` at `timestamp` (unix seconds) with `secret`, compared in constant time, and the
 * timestamp is within `toleranceSeconds` of `nowSeconds` (either direction: the replay window). Never throws;
 * anything missing or malformed is false.
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
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
