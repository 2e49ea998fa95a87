// Trace propagation through real NATS headers, gRPC metadata and HTTP headers, with the SDK on
// (spans kept in memory), plus the metrics and log fields that go with it. Each vitest file runs
// in its own process, so starting the SDK here touches no other test file.
import { credentials, makeGenericClientConstructor, Server, type ServiceDefinition } from '@grpc/grpc-js';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  activeTraceIds,
  addMetricsRoute,
  connectMongo,
  connectNats,
  createHttpServer,
  extractNatsHeaders,
  inSpan,
  injectNatsHeaders,
  listenGrpc,
  publishDurable,
  renderMetrics,
  runConsumer,
  shutdownGrpc,
  startTelemetry,
  traceHeaders,
  traceMetadata,
  unary,
  type ConsumerHandle,
  type NatsHandle,
  type Telemetry,
} from '@dlr/platform';
import { eventually, present } from '@dlr/testing';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const suffix = randomSuffix();
const prefix = `ptel${suffix}`;
const STREAM = `PTEL_${suffix}`;
const exporter = new tracing.InMemorySpanExporter();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const { logger, raw } = memoryLogger('telemetry-test');
let telemetry: Telemetry;
let nats: NatsHandle;
const consumers: ConsumerHandle[] = [];

beforeAll(async () => {
  telemetry = startTelemetry('telemetry-test', {}, { spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
  nats = await connectNats({ servers: infraUrls().natsUrl, name: 'platform-telemetry-test', logger });
  await nats.jsm.streams.add({ name: STREAM, subjects: [`${prefix}.>`] });
});

afterAll(async () => {
  for (const c of consumers) await c.stop();
  if (nats) {
    await nats.jsm.streams.delete(STREAM).catch(() => false);
    await nats.drain();
  }
  await telemetry?.shutdown();
});

beforeEach(() => exporter.reset());

const spans = () => exporter.getFinishedSpans();
const spanNamed = (name: string) => spans().find((s) => s.name === name);
const parentOf = (span: tracing.ReadableSpan) => span.parentSpanContext?.spanId;

describe('startTelemetry', () => {
  it('is on with span processors, off without OTEL_* variables', async () => {
    expect(telemetry.enabled).toBe(true);
    const off = startTelemetry('x', {});
    expect(off.enabled).toBe(false);
    await off.shutdown();
    expect(
      startTelemetry('x', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }).enabled,
    ).toBe(false);
  });
});

describe('NATS headers', () => {
  it('inject → real NATS headers → extract gives back the same trace and span', async () => {
    await inSpan('root', {}, async (span) => {
      const h = natsHeaders();
      injectNatsHeaders(h);
      const ack = await nats.js.publish(`${prefix}.raw`, encoder.encode('x'), { headers: h });
      const stored = await nats.jsm.streams.getMessage(STREAM, { seq: ack.seq });
      expect(stored?.header.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const extracted = trace.getSpanContext(extractNatsHeaders(stored?.header));
      expect(extracted).toMatchObject({
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        isRemote: true,
      });
    });
    // No headers, or headers without a trace: a fresh trace starts (the root context).
    expect(trace.getSpanContext(extractNatsHeaders(undefined))).toBeUndefined();
    expect(trace.getSpanContext(extractNatsHeaders(natsHeaders()))).toBeUndefined();
  });

  it('publishDurable → runConsumer → publish from the handler → runConsumer is one trace, parent to child', async () => {
    const first = `${prefix}.first`;
    const second = `${prefix}.second`;
    const seen: { subject: string; ids: ReturnType<typeof activeTraceIds> }[] = [];
    for (const [durable, subject] of [
      ['first', first],
      ['second', second],
    ] as const) {
      await nats.jsm.consumers.add(STREAM, { durable_name: durable, filter_subject: subject, ack_policy: 'explicit' });
      consumers.push(
        await runConsumer({
          js: nats.js,
          stream: STREAM,
          durable,
          decode: (data) => decoder.decode(data),
          handle: async (message, ctx) => {
            seen.push({ subject: ctx.subject, ids: activeTraceIds() });
            logger.info({ seq: ctx.streamSequence }, `handled ${durable}`);
            if (ctx.subject === first)
              await publishDurable(nats.js, second, encoder.encode(message), `next:${message}`);
          },
          deadLetterSubject: `${prefix}.dlq`,
          maxDeliver: 3,
          concurrency: 2,
          logger,
        }),
      );
    }
    const rootTrace = await inSpan('request', {}, async (span) => {
      await publishDurable(nats.js, first, encoder.encode('m1'), 'first:m1');
      return span.spanContext().traceId;
    });
    await eventually(() => present(spanNamed(`process ${second}`), 'second consumer span'), 10_000);

    const request = spanNamed('request')!;
    const publish1 = spanNamed(`publish ${first}`)!;
    const process1 = spanNamed(`process ${first}`)!;
    const publish2 = spanNamed(`publish ${second}`)!;
    const process2 = spanNamed(`process ${second}`)!;
    for (const s of [publish1, process1, publish2, process2]) expect(s.spanContext().traceId).toBe(rootTrace);
    expect(parentOf(publish1)).toBe(request.spanContext().spanId);
    expect(parentOf(process1)).toBe(publish1.spanContext().spanId);
    expect(parentOf(publish2)).toBe(process1.spanContext().spanId);
    expect(parentOf(process2)).toBe(publish2.spanContext().spanId);
    expect(process1.attributes['messaging.consumer.group.name']).toBe('first');

    // The handlers ran inside their consumer spans: their logs carry the trace.
    expect(seen.map((s) => s.ids?.trace_id)).toEqual([rootTrace, rootTrace]);
    const logged = raw()
      .split('\n')
      .filter((l) => l.includes('"handled '))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map((l) => l.trace_id)).toEqual([rootTrace, rootTrace]);
    expect(logged[0]!.span_id).toBe(process1.spanContext().spanId);

    // And the metrics counted it.
    const { body } = await renderMetrics();
    expect(body).toContain(`dlr_events_published_total{subject="${first}"} 1`);
    expect(body).toContain(`dlr_events_consumed_total{consumer="first",subject="${first}"} 1`);
    expect(body).toContain(`dlr_events_consumed_total{consumer="second",subject="${second}"} 1`);
    expect(body).toMatch(new RegExp(`dlr_consumer_pending_messages\\{stream="${STREAM}",consumer="first"\\} 0`));
  });

  it('a failing handler marks its span failed and counts the error', async () => {
    const subject = `${prefix}.failing`;
    await nats.jsm.consumers.add(STREAM, { durable_name: 'failing', filter_subject: subject, ack_policy: 'explicit' });
    consumers.push(
      await runConsumer({
        js: nats.js,
        stream: STREAM,
        durable: 'failing',
        decode: (data) => decoder.decode(data),
        handle: async () => {
          throw new TypeError('broken handler for jane@example.org');
        },
        deadLetterSubject: `${prefix}.dlq`,
        maxDeliver: 1,
        concurrency: 1,
        logger,
      }),
    );
    await publishDurable(nats.js, subject, encoder.encode('x'), 'failing:1');
    const span = await eventually(() => present(spanNamed(`process ${subject}`), 'failing span'), 10_000);
    expect(span.status).toMatchObject({ code: 2, message: 'TypeError' });
    // The error's message may carry personal data: it is not in the span.
    expect(JSON.stringify({ status: span.status, attributes: span.attributes })).not.toContain('jane@');
    const { body } = await renderMetrics();
    expect(body).toContain(`dlr_handler_errors_total{consumer="failing",subject="${subject}"} 1`);
    expect(body).toContain(`dlr_events_dead_lettered_total{consumer="failing",subject="${subject}"} 1`);
  });
});

describe('gRPC metadata', () => {
  interface Echo {
    text: string;
  }
  const json = {
    serialize: (value: Echo) => Buffer.from(JSON.stringify(value)),
    deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as Echo,
  };
  const definition: ServiceDefinition = {
    echo: {
      path: '/dlr.test.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: json.serialize,
      requestDeserialize: json.deserialize,
      responseSerialize: json.serialize,
      responseDeserialize: json.deserialize,
    },
  };

  it('traceMetadata on the client → unary server span → same trace, and the handler sees it', async () => {
    const server = new Server();
    let handlerTrace: string | undefined;
    server.addService(definition, {
      echo: unary<Echo, Echo>(logger, 'Echo', async (request) => {
        handlerTrace = activeTraceIds()?.trace_id;
        return { text: request.text };
      }),
    });
    const port = await listenGrpc(server, '127.0.0.1', 0);
    const Client = makeGenericClientConstructor(definition, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      echo(req: Echo, md: ReturnType<typeof traceMetadata>, cb: (e: Error | null, r?: Echo) => void): void;
      close(): void;
    };
    try {
      const traceId = await inSpan('caller', {}, async (span) => {
        const reply = await new Promise<Echo | undefined>((resolve, reject) =>
          client.echo({ text: 'hi' }, traceMetadata(), (e, r) => (e ? reject(e) : resolve(r))),
        );
        expect(reply).toEqual({ text: 'hi' });
        return span.spanContext().traceId;
      });
      const serverSpan = await eventually(() => present(spanNamed('Echo'), 'server span'), 5_000);
      expect(serverSpan.spanContext().traceId).toBe(traceId);
      expect(parentOf(serverSpan)).toBe(spanNamed('caller')!.spanContext().spanId);
      expect(handlerTrace).toBe(traceId);
      expect((await renderMetrics()).body).toMatch(
        /dlr_grpc_request_duration_seconds_count\{method="Echo",code="OK"\} 1/,
      );
    } finally {
      client.close();
      await shutdownGrpc(server, 1_000);
    }
  });
});

describe('HTTP headers', () => {
  it('traceHeaders on fetch → server span named by route → same trace; /metrics times the route', async () => {
    const app = await createHttpServer({ logger });
    let handlerTrace: string | undefined;
    app.post('/things/:id', { config: { access: 'public' } }, async (request) => {
      handlerTrace = activeTraceIds()?.trace_id;
      return { got: (request.body as { n: number }).n };
    });
    addMetricsRoute(app);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const traceId = await inSpan('client', {}, async (span) => {
        const headers = traceHeaders();
        expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        const res = await fetch(`${url}/things/t_1`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ n: 7 }),
        });
        expect(await res.json()).toEqual({ got: 7 });
        return span.spanContext().traceId;
      });
      const serverSpan = await eventually(() => present(spanNamed('POST /things/:id'), 'server span'), 5_000);
      expect(serverSpan.spanContext().traceId).toBe(traceId);
      expect(parentOf(serverSpan)).toBe(spanNamed('client')!.spanContext().spanId);
      expect(serverSpan.attributes).toMatchObject({ 'http.route': '/things/:id', 'http.response.status_code': 200 });
      // The handler ran after the body was read, still inside the request's span.
      expect(handlerTrace).toBe(traceId);

      // Without a traceparent the request starts its own trace.
      await fetch(`${url}/healthz`);
      const health = await eventually(() => present(spanNamed('GET /healthz'), 'healthz span'), 5_000);
      expect(health.spanContext().traceId).not.toBe(traceId);
      expect(health.parentSpanContext).toBeUndefined();

      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      expect(text).toMatch(
        /dlr_http_request_duration_seconds_count\{method="POST",route="\/things\/:id",status_code="200"\} 1/,
      );
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).not.toContain('t_1');
    } finally {
      await app.close();
    }
  });
});

describe('MongoDB', () => {
  it("each command is a client span in the caller's trace, with no document contents", async () => {
    const mongo = await connectMongo({ uri: infraUrls().mongoUri, dbName: `ptel_${suffix}`, logger, appName: 'ptel' });
    try {
      const people = mongo.db.collection<{ _id: string; email: string; phone: string }>('people');
      const person = { _id: 'ann.lee@example.org', email: 'ann.lee@example.org', phone: '+447700900123' };
      const traceId = await inSpan('root', {}, async (root) => {
        await people.insertOne(person);
        await people.findOne({ email: person.email });
        // A command that fails with a duplicate key (MongoDB's message quotes the key).
        const failed = await people
          .findOneAndUpdate({ _id: person._id, email: 'other' }, { $set: { phone: '+1' } }, { upsert: true })
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        expect(failed?.message).toMatch(/E11000/);
        return root.spanContext().traceId;
      });
      const db = spans().filter((s) => s.attributes['db.system.name'] === 'mongodb');
      expect(db.map((s) => s.name)).toEqual(['insert people', 'find people', 'findAndModify $cmd']);
      for (const span of db) {
        expect(span.spanContext().traceId).toBe(traceId);
        expect(span.attributes['db.namespace']).toBe(`ptel_${suffix}`);
      }
      expect(db[0]!.attributes['db.collection.name']).toBe('people');
      expect(db[1]!.attributes['db.query.text']).toMatch(/^\{"find":"\?","filter":"\?"/);
      expect(db[2]!.status).toEqual({ code: 2 }); // ERROR, without the server's message
      const everything = JSON.stringify(db.map((s) => ({ a: s.attributes, st: s.status, ev: s.events })));
      expect(everything).not.toMatch(/ann\.lee|example\.org|7700900123|"email"|"phone"/);
    } finally {
      await mongo.db.dropDatabase();
      await mongo.close();
    }
  });
});

describe('logs', () => {
  it('carry trace_id and span_id inside a span and not outside', async () => {
    const mark = randomSuffix();
    logger.info({ mark }, 'outside');
    const ids = await inSpan('logging', {}, async () => {
      logger.info({ mark }, 'inside');
      return activeTraceIds();
    });
    const lines = raw()
      .split('\n')
      .filter((l) => l.includes(mark))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({ msg: 'inside', trace_id: ids!.trace_id, span_id: ids!.span_id });
  });
});
