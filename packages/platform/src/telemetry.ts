import { trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';

/** A started (or disabled) telemetry pipeline; `shutdown` flushes what is buffered. */
export interface Telemetry {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/** What {@link startTelemetry} takes besides the environment. */
export interface TelemetryOptions {
  /** Span processors to use instead of the exporters the `OTEL_*` variables choose (tests); enables telemetry. */
  spanProcessors?: NodeSDKConfiguration['spanProcessors'];
}

/**
 * Starts OpenTelemetry for the process: traces (W3C trace-context propagation through gRPC
 * metadata, NATS headers and HTTP headers, see tracing.ts) exported by the standard `OTEL_*`
 * variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`,
 * `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` = `http/protobuf` | `http/json` | `grpc`, ...), which the SDK
 * reads from `process.env`. When none of them is set in `env`, or `OTEL_SDK_DISABLED=true`,
 * telemetry stays off and costs nothing. Metrics are served by Prometheus `/metrics` (metrics.ts);
 * OTLP metrics and logs are exported only when `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` ask.
 *
 * MongoDB commands become client spans (`@opentelemetry/instrumentation-mongodb`) that carry no
 * document contents: the statement is the command's top-level keys only, and a failed command's
 * server message (a duplicate key error quotes the key) is dropped. The driver must be loaded after
 * this call, which is why `connectMongo` imports it lazily.
 */
export function startTelemetry(
  serviceName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: TelemetryOptions = {},
): Telemetry {
  const set = (k: string) => (env[k] ?? '') !== '' && env[k] !== 'none';
  const configured = [
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_TRACES_EXPORTER',
    'OTEL_METRICS_EXPORTER',
    'OTEL_LOGS_EXPORTER',
  ].some(set);
  if ((!configured && options.spanProcessors === undefined) || env.OTEL_SDK_DISABLED === 'true') {
    return { enabled: false, shutdown: () => Promise.resolve() };
  }
  const mongodb = new MongoDBInstrumentation({ dbStatementSerializer: commandShape });
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    instrumentations: [mongodb],
    ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
    ...(set('OTEL_METRICS_EXPORTER') ? {} : { metricReaders: [] }),
    ...(set('OTEL_LOGS_EXPORTER') ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  // After start, which hands every instrumentation the SDK's provider.
  mongodb.setTracerProvider(withoutStatusMessages(trace.getTracerProvider()));
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

/** `{"find":"?","filter":"?",...}`: which command and options, never a value or a document's field. */
export function commandShape(command: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(command).map((key) => [key, '?'])));
}

/**
 * The provider's spans, except that `setStatus` keeps the code and drops the message: the MongoDB
 * instrumentation sets the server's message, and a duplicate key error quotes the document's key.
 */
function withoutStatusMessages(provider: TracerProvider): TracerProvider {
  const scrub = (span: Span): Span => {
    const setStatus = span.setStatus.bind(span);
    span.setStatus = (status) => setStatus({ code: status.code });
    return span;
  };
  return {
    getTracer(name, version, options) {
      const tracer = provider.getTracer(name, version, options);
      const wrapped: Tracer = {
        startSpan: (spanName, spanOptions, context) => scrub(tracer.startSpan(spanName, spanOptions, context)),
        startActiveSpan: tracer.startActiveSpan.bind(tracer),
      };
      return wrapped;
    },
  };
}
