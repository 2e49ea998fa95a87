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
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
    ...(set('OTEL_METRICS_EXPORTER') ? {} : { metricReaders: [] }),
    ...(set('OTEL_LOGS_EXPORTER') ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
