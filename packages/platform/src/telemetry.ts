import { NodeSDK } from '@opentelemetry/sdk-node';

/** A started (or disabled) telemetry pipeline; `shutdown` flushes what is buffered. */
export interface Telemetry {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry for the process. The exporters are chosen by the standard `OTEL_*`
 * variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, ...);
 * when none of them is set, or `OTEL_SDK_DISABLED=true`, telemetry stays off and costs nothing.
 */
export function startTelemetry(
  serviceName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Telemetry {
  const configured = [
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_TRACES_EXPORTER',
    'OTEL_METRICS_EXPORTER',
    'OTEL_LOGS_EXPORTER',
  ].some((k) => (env[k] ?? '') !== '' && env[k] !== 'none');
  if (!configured || env.OTEL_SDK_DISABLED === 'true') {
    return { enabled: false, shutdown: () => Promise.resolve() };
  }
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? serviceName });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
