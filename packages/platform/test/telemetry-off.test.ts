// With no OTEL_* variables telemetry is off: the propagation helpers add nothing and logs carry no
// trace fields (this file runs in its own process, where no SDK was started).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeTraceIds,
  connectNats,
  inSpan,
  publishDurable,
  startTelemetry,
  traceHeaders,
  traceMetadata,
  type NatsHandle,
} from '@dlr/platform';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const suffix = randomSuffix();
const STREAM = `PTOFF_${suffix}`;
const { logger, raw } = memoryLogger('telemetry-off-test');
let nats: NatsHandle;

beforeAll(async () => {
  nats = await connectNats({ servers: infraUrls().natsUrl, name: 'platform-telemetry-off-test', logger });
  await nats.jsm.streams.add({ name: STREAM, subjects: [`ptoff${suffix}.>`] });
});

afterAll(async () => {
  if (!nats) return;
  await nats.jsm.streams.delete(STREAM).catch(() => false);
  await nats.drain();
});

describe('telemetry off', () => {
  it('adds no trace headers anywhere and no trace fields to logs', async () => {
    expect(startTelemetry('off', { OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
    await inSpan('ignored', {}, async () => {
      expect(traceHeaders()).toEqual({});
      expect(traceMetadata().getMap()).toEqual({});
      expect(activeTraceIds()).toBeUndefined();
      logger.info({ suffix }, 'no trace here');
      const ack = await publishDurable(nats.js, `ptoff${suffix}.x`, new Uint8Array([1]), 'off:1');
      const stored = await nats.jsm.streams.getMessage(STREAM, { seq: ack.seq });
      expect(stored?.header.has('traceparent')).toBe(false);
    });
    expect(raw()).toContain('no trace here');
    expect(raw()).not.toContain('trace_id');
  });
});
