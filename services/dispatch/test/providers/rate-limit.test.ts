import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { RateLimitedProvider, TokenBucket } from '../../src/adapters/providers/rate-limit.js';
import { SendGridProvider } from '../../src/adapters/providers/sendgrid.js';
import type { HttpPeer } from '../peers/http-peer.js';
import { startSendGridPeer } from '../peers/sendgrid.js';
import { startTwilioPeer } from '../peers/twilio.js';
import { outbound, sendRequest, startDispatch, type DispatchUnderTest } from './harness.js';

describe('TokenBucket', () => {
  it('spaces reservations 1/rate apart and lets an idle bucket refill to one token', () => {
    let now = 1_000;
    const bucket = new TokenBucket(4, () => now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 250, 500]);
    now += 2_000;
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(250);
  });
});

/** The same clock as the peer's arrival times (the peer runs in this process). */
const clock = () => performance.timeOrigin + performance.now();

/**
 * Time from `start` to the last arrival at the peer, ms. The last of N calls gets its token
 * (N-1)/L s after the first, which is after `start`: a sound lower bound whatever the latency.
 */
function elapsed(peer: HttpPeer, from: number, start: number): number {
  return Math.max(...peer.received.slice(from).map((r) => r.at)) - start;
}

describe('a rate-limited provider', () => {
  let peer: HttpPeer;
  beforeAll(async () => {
    peer = await startSendGridPeer('SG.rate');
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('N concurrent sends at L/s reach the provider over at least (N-1)/L s', async () => {
    const n = 6;
    const rate = 10;
    const provider = new RateLimitedProvider(
      new SendGridProvider({ apiKey: 'SG.rate', from: 'alerts@test.example', baseUrl: peer.url, timeoutMs: 5_000 }),
      rate,
    );
    expect(provider.name).toBe('sendgrid');
    const before = peer.received.length;
    const start = clock();
    await Promise.all(Array.from({ length: n }, () => provider.send(outbound('email', 'someone@example.org'))));
    expect(peer.received.length - before).toBe(n);
    // Generous: timer granularity may bring a call a few ms early, never a whole interval.
    expect(elapsed(peer, before, start)).toBeGreaterThanOrEqual(((n - 1) / rate) * 1000 - 20);
  });
});

describe('dispatch with TWILIO_RATE_PER_SECOND (real NATS + MongoDB)', () => {
  const accountSid = `AC${'ab'.repeat(16)}`;
  let peer: HttpPeer;
  let dispatch: DispatchUnderTest;
  beforeAll(async () => {
    peer = await startTwilioPeer(accountSid, 'token-rate');
    dispatch = await startDispatch({
      SIMULATOR_URL: 'http://127.0.0.1:9',
      SIMULATOR_API_KEY: 'unused',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: 'token-rate',
      TWILIO_FROM: '+15005550006',
      TWILIO_BASE_URL: peer.url,
      TWILIO_RATE_PER_SECOND: '5',
    });
  });
  afterAll(async () => {
    await dispatch?.stop();
    await peer?.stop();
  });

  it('waits instead of failing: 6 messages at 5/s all Sent, spread over at least 1 s', async () => {
    const requests = Array.from({ length: 6 }, (_, i) => sendRequest('sms', `+6140086${String(5300 + i)}`));
    const start = clock();
    for (const r of requests) await dispatch.publish(r);
    for (const r of requests) {
      expect(await dispatch.eventOf(r.deliveryId)).toMatchObject({ status: DeliveryStatus.DELIVERY_STATUS_SENT });
    }
    expect(peer.received).toHaveLength(6);
    expect(elapsed(peer, 0, start)).toBeGreaterThanOrEqual(1_000 - 20);
  });
});
