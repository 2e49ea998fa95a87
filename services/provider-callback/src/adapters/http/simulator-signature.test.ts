import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signSimulatorCallback, verifySimulatorSignature } from './simulator-signature.js';

const secret = 'a-webhook-secret-of-some-length';
const body = '{"eventId":"sev_1","type":"delivered"}';
const now = 1_750_000_000;

describe('simulator signature', () => {
  it('is v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    expect(signSimulatorCallback(secret, now, body)).toBe(`v1=${expected}`);
    expect(signSimulatorCallback(secret, String(now), Buffer.from(body))).toBe(`v1=${expected}`);
  });

  it('verifies a fresh signature over the exact bytes', () => {
    const header = signSimulatorCallback(secret, now, body);
    expect(verifySimulatorSignature(secret, String(now), Buffer.from(body), header, now)).toBe(true);
    expect(verifySimulatorSignature(secret, String(now), body, header.toUpperCase().replace('V1=', 'v1='), now)).toBe(
      true,
    );
  });

  it('refuses a changed body, timestamp, secret or header', () => {
    const header = signSimulatorCallback(secret, now, body);
    expect(verifySimulatorSignature(secret, String(now), `${body} `, header, now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now - 1), body, header, now)).toBe(false);
    expect(verifySimulatorSignature(`${secret}x`, String(now), body, header, now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, header.replace('v1=', 'v2='), now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, header.slice(0, -2), now)).toBe(false);
    expect(verifySimulatorSignature(secret, String(now), body, undefined, now)).toBe(false);
    expect(verifySimulatorSignature(secret, undefined, body, header, now)).toBe(false);
    expect(verifySimulatorSignature(secret, `${now}.5`, body, header, now)).toBe(false);
  });

  it('refuses timestamps outside the replay window, in either direction', () => {
    for (const [ts, ok] of [
      [now - 300, true],
      [now + 300, true],
      [now - 301, false],
      [now + 301, false],
    ] as const) {
      const header = signSimulatorCallback(secret, ts, body);
      expect(verifySimulatorSignature(secret, String(ts), body, header, now)).toBe(ok);
    }
    const old = signSimulatorCallback(secret, now - 60, body);
    expect(verifySimulatorSignature(secret, String(now - 60), body, old, now, 30)).toBe(false);
  });
});
