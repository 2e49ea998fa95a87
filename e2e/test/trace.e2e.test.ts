// Telemetry of the whole system: an OTLP/HTTP collector in the test receives the spans every
// process exports (JSON encoding), one communication with one recipient goes out through the
// provider simulator, and its journey — communication → dispatch → simulator → provider-callback →
// reporting — must be ONE trace. Also: every service serves Prometheus metrics on /metrics, and
// logs carry the trace ID but no personal data.
import { createServer, type Server } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, subjects } from '@dlr/contracts';
import { communicationClient, eventually, type CommunicationApi, type RunningSystem } from '@dlr/testing';
import { startE2eSystem } from './system.js';

/** One span as the collector keeps it. */
interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** The OTLP/JSON fields we read (ExportTraceServiceRequest). */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: OtlpAttribute[] }[];
    }[];
  }[];
}

const valueOf = (v: OtlpValue): unknown => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** A minimal OTLP/HTTP trace receiver: `POST /v1/traces` with a JSON body; keeps every span. */
async function startCollector(): Promise<{
  url: string;
  spans: CollectedSpan[];
  requests: () => number;
  close(): Promise<void>;
}> {
  const spans: CollectedSpan[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      requests++;
      try {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        const request = JSON.parse(body.toString('utf8')) as OtlpRequest;
        for (const rs of request.resourceSpans ?? []) {
          const name = attributesOf(rs.resource?.attributes)['service.name'];
          const service = typeof name === 'string' ? name : '';
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                attributes: attributesOf(s.attributes),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        // Not JSON: the exporter was not configured for http/json.
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('collector has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    spans,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const RECIPIENT = { externalId: '', name: 'Tess Tracewell', email: 'delivered.tess.trace@example.org', phone: '' };

let collector: Awaited<ReturnType<typeof startCollector>>;
let system: RunningSystem;
let api: CommunicationApi;

beforeAll(async () => {
  collector = await startCollector();
  system = await startE2eSystem('trace', {
    logLevel: 'debug',
    simulatorDelayMs: 200,
    simulatorOutcomes: 'delivered=1',
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      // Export finished spans every 200 ms instead of every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
    log: () => undefined,
  });
  api = communicationClient(system.communicationGrpc, system.operatorToken);
});

afterAll(async () => {
  api?.close();
  if (system) {
    const codes = await system.stop();
    // Telemetry flushes and shuts down with each process: every one still exits cleanly.
    expect(Object.values(codes).every((c) => c === 0)).toBe(true);
  }
  await collector?.close();
});

describe('telemetry across the five services', () => {
  it('one message is one trace: communication → dispatch → simulator → provider-callback → reporting', async () => {
    const created = await api.create({
      title: 'Trace test',
      emailSubject: 'Trace test',
      emailBody: 'One message, one trace.',
      smsText: '',
      channels: [Channel.CHANNEL_EMAIL],
      acknowledgementRequested: false,
      responseOptions: [],
    });
    const communicationId = created.communication!.id;
    const added = await api.addRecipients({ communicationId, recipients: [RECIPIENT] });
    expect(added.createdCount).toBe(1);
    await api.send({ communicationId });

    const spans = collector.spans;
    // The Send call is where the message's journey starts; nothing else calls SendCommunication here.
    const root = await eventually(() => {
      const found = spans.find((s) => s.service === 'communication' && s.name === 'SendCommunication');
      expect(found, 'the SendCommunication server span').toBeDefined();
      return found!;
    }, 30_000);
    const traceId = root.traceId;
    const inTrace = () => spans.filter((s) => s.traceId === traceId);
    const byId = (id: string) => inTrace().find((s) => s.spanId === id);

    // Wait until the provider's callback went through provider-callback into reporting.
    const reportingFromCallback = await eventually(() => {
      const found = inTrace().find(
        (s) => s.service === 'reporting' && byId(s.parentSpanId)?.service === 'provider-callback',
      );
      expect(found, `a reporting span under provider-callback in trace ${traceId}`).toBeDefined();
      return found!;
    }, 60_000);

    const services = new Set(inTrace().map((s) => s.service));
    for (const service of ['communication', 'dispatch', 'provider-callback', 'reporting']) {
      expect(services, `services in the trace: ${[...services].join(', ')}`).toContain(service);
    }

    // The simulator kept dispatch's trace context and sent it back on its callback: the callback's
    // server span is a child of a dispatch span.
    const callback = inTrace().find((s) => s.service === 'provider-callback' && s.name.includes('/v1/callbacks/'));
    expect(callback, 'the callback server span').toBeDefined();
    expect(byId(callback!.parentSpanId)?.service).toBe('dispatch');
    expect(reportingFromCallback.name).toMatch(/^process /);

    // Dispatch consumed the send request that communication published.
    const sendRequested = subjects(system.namespace).sendRequested;
    const dispatchConsume = inTrace().find((s) => s.service === 'dispatch' && s.name === `process ${sendRequested}`);
    expect(dispatchConsume, 'the dispatch consumer span').toBeDefined();
    expect(byId(dispatchConsume!.parentSpanId)?.service).toBe('communication');

    // Nothing in the trace points at a parent outside it, once every span is exported: one tree.
    await eventually(() => {
      const orphans = inTrace().filter((s) => s.parentSpanId !== '' && byId(s.parentSpanId) === undefined);
      expect(orphans.map((s) => `${s.service}: ${s.name}`)).toEqual([]);
    }, 30_000);
    expect(inTrace().filter((s) => s.parentSpanId === '')).toEqual([root]);

    // Logs written on the way carry the trace ID, and no process logged the recipient.
    const logs = Object.fromEntries(
      readdirSync(system.logDir).map((file) => [
        file.replace(/\.log$/, ''),
        readFileSync(join(system.logDir, file), 'utf8'),
      ]),
    );
    const tracedLines = (service: string) =>
      (logs[service] ?? '')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.trace_id === traceId);
    expect(tracedLines('communication').map((l) => l.msg)).toContain('send started');
    expect(tracedLines('dispatch').length).toBeGreaterThan(0);
    for (const [name, text] of Object.entries(logs)) {
      expect(text, `${name}.log`).not.toContain(RECIPIENT.email);
      expect(text, `${name}.log`).not.toContain(RECIPIENT.name);
    }
  });

  it('every service serves Prometheus metrics on GET /metrics of its admin port, and not on its own port', async () => {
    const common = ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'dlr_http_request_duration_seconds'];
    const expected: Record<string, string[]> = {
      communication: [...common, 'dlr_grpc_request_duration_seconds', 'dlr_events_published_total'],
      dispatch: [
        ...common,
        'dlr_events_consumed_total',
        'dlr_events_published_total',
        'dlr_consumer_pending_messages',
        'dlr_provider_request_duration_seconds',
      ],
      reporting: [...common, 'dlr_events_consumed_total', 'dlr_consumer_pending_messages'],
      'feedback-link': common,
      'provider-callback': [...common, 'dlr_callbacks_received_total', 'dlr_callbacks_parked_total'],
    };
    for (const [service, names] of Object.entries(expected)) {
      const url = system.adminUrls[service as keyof RunningSystem['adminUrls']];
      const res = await fetch(`${url}/metrics`);
      const main = system.httpUrls[service as keyof RunningSystem['httpUrls']];
      expect((await fetch(`${main}/metrics`)).status, `${service} /metrics on its own port`).not.toBe(200);
      expect(res.status, `${service} /metrics`).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      for (const name of names) {
        expect(text, `${service} /metrics has ${name}`).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
      }
    }
    // Series carry route patterns and method names, never raw URLs or IDs.
    await fetch(`${system.httpUrls.communication}/healthz`);
    const communicationMetrics = await (await fetch(`${system.adminUrls.communication}/metrics`)).text();
    expect(communicationMetrics).toMatch(
      /^dlr_grpc_request_duration_seconds_count\{method="SendCommunication",code="OK"\} 1$/m,
    );
    expect(communicationMetrics).toMatch(
      /^dlr_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} \d+$/m,
    );
    // Consumer lag is sampled per durable consumer.
    const dispatchMetrics = await (await fetch(`${system.adminUrls.dispatch}/metrics`)).text();
    expect(dispatchMetrics).toMatch(/^dlr_consumer_pending_messages\{stream="[A-Z0-9_]+",consumer="[^"]+"\} \d+$/m);
  });
});
