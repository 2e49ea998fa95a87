import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The one Prometheus registry of the process: platform metrics, default process metrics, and any
 * metric a service defines with {@link defineCounter} / {@link defineHistogram} / {@link defineGauge}.
 * `GET /metrics` on every service's HTTP port renders it.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/**
 * A counter on {@link metricsRegistry}; defining the same name again returns the existing one, so a
 * service built twice in one process (tests) shares it. Throws when the name is taken by another type.
 */
export function defineCounter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return existing(name, Counter) ?? new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

/** A histogram on {@link metricsRegistry} (seconds by convention); see {@link defineCounter}. */
export function defineHistogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets?: number[],
): Histogram<L> {
  return (
    existing(name, Histogram) ??
    new Histogram({ name, help, labelNames, registers: [metricsRegistry], ...(buckets ? { buckets } : {}) })
  );
}

/** A gauge on {@link metricsRegistry}; see {@link defineCounter}. */
export function defineGauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  return existing(name, Gauge) ?? new Gauge({ name, help, labelNames, registers: [metricsRegistry] });
}

function existing<M>(name: string, type: abstract new (...args: never[]) => M): M | undefined {
  const metric = metricsRegistry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  if (!(metric instanceof type)) throw new Error(`metric ${name} is already defined with another type`);
  return metric;
}

/**
 * Subject kinds (`<ns>.v1.<area>.<kind>.<params>`) whose first parameter is an identifier
 * (communication ID, short code): one series per identifier would be unbounded.
 */
const ID_PARAMETER_KINDS = new Set(['short-link', 'link-content', 'status-changed']);
const BOUNDED_TOKEN = /^(?:[a-z][a-z_-]{0,39}|\d{1,4})$/;

/**
 * A NATS subject as a low-cardinality label and span name: parameters that are identifiers
 * become `*` (`dlr.v1.dispatch.link-content.c_Ab12` → `dlr.v1.dispatch.link-content.*`), while
 * bounded ones stay (`dlr.v1.delivery.event.provider`, `dlr.v1.reporting.work.3.event`).
 */
export function subjectLabel(subject: string): string {
  const tokens = subject.split('.');
  const kind = tokens[3];
  return tokens
    .map((token, i) => {
      if (i < 4) return token;
      if (i === 4 && kind !== undefined && ID_PARAMETER_KINDS.has(kind)) return '*';
      return BOUNDED_TOKEN.test(token) ? token : '*';
    })
    .join('.');
}

/** Histogram buckets (seconds) for calls that take milliseconds to seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The metrics platform code records; services read them only in tests. */
export const platformMetrics = {
  eventsPublished: defineCounter(
    'dlr_events_published_total',
    'Messages JetStream stored (publishDurable), per subject (identifiers in it as *).',
    ['subject'],
  ),
  publishFailures: defineCounter(
    'dlr_events_publish_failures_total',
    'Publishes JetStream did not confirm (timeout, no stream, connection lost), per subject.',
    ['subject'],
  ),
  eventsConsumed: defineCounter(
    'dlr_events_consumed_total',
    'Messages a durable consumer handled and acknowledged, per consumer and subject.',
    ['consumer', 'subject'],
  ),
  handlerErrors: defineCounter(
    'dlr_handler_errors_total',
    'Message handler failures (each is retried, or dead-lettered when poison or out of deliveries).',
    ['consumer', 'subject'],
  ),
  deadLettered: defineCounter(
    'dlr_events_dead_lettered_total',
    'Messages copied to the dead-letter subject and terminated.',
    ['consumer', 'subject'],
  ),
  handleDuration: defineHistogram(
    'dlr_event_handle_duration_seconds',
    'Time from receiving a message to its ack, nak or dead-letter.',
    ['consumer'],
    LATENCY_BUCKETS,
  ),
  consumerPending: defineGauge(
    'dlr_consumer_pending_messages',
    'Messages in the stream the durable consumer has not yet delivered (num_pending), sampled at scrape.',
    ['stream', 'consumer'],
  ),
  consumerAckPending: defineGauge(
    'dlr_consumer_ack_pending_messages',
    'Messages delivered to the durable consumer and not yet acknowledged (num_ack_pending), sampled at scrape.',
    ['stream', 'consumer'],
  ),
  httpDuration: defineHistogram(
    'dlr_http_request_duration_seconds',
    'HTTP requests served, by route pattern (never the raw URL), method and status.',
    ['method', 'route', 'status_code'],
    LATENCY_BUCKETS,
  ),
  grpcDuration: defineHistogram(
    'dlr_grpc_request_duration_seconds',
    'gRPC unary calls served, by method and status code name.',
    ['method', 'code'],
    LATENCY_BUCKETS,
  ),
} as const;

/** A consumer whose lag is sampled at each scrape. */
interface LagSource {
  stream: string;
  consumer: string;
  info(): Promise<{ num_pending: number; num_ack_pending: number }>;
}

const lagSources = new Set<LagSource>();
const LAG_SAMPLE_TIMEOUT_MS = 2_000;

/**
 * Samples `num_pending`/`num_ack_pending` of `source` at each scrape until the returned function is
 * called (then its series disappear). Used by `runConsumer`.
 */
export function trackConsumerLag(source: LagSource): () => void {
  lagSources.add(source);
  return () => {
    lagSources.delete(source);
    const labels = { stream: source.stream, consumer: source.consumer };
    platformMetrics.consumerPending.remove(labels);
    platformMetrics.consumerAckPending.remove(labels);
  };
}

async function sampleLag(): Promise<void> {
  await Promise.all(
    [...lagSources].map(async (source) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const info = await Promise.race([
          source.info(),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), LAG_SAMPLE_TIMEOUT_MS);
          }),
        ]);
        const labels = { stream: source.stream, consumer: source.consumer };
        platformMetrics.consumerPending.set(labels, info.num_pending);
        platformMetrics.consumerAckPending.set(labels, info.num_ack_pending);
      } catch {
        // NATS unreachable or slow: keep the last sample; /readyz reports the outage.
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/** The registry in the Prometheus text format, with fresh consumer-lag samples. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  await sampleLag();
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

/**
 * Adds `GET /metrics` (Prometheus text format of {@link metricsRegistry}) to `app` unless it already
 * has that route, as a public route (for servers no ingress routes: the admin port, the simulator).
 * Must be called before the app is ready (listen/inject).
 */
export function addMetricsRoute(app: FastifyInstance): void {
  if (app.hasRoute({ method: 'GET', url: '/metrics' })) return;
  app.get('/metrics', { config: { access: 'public' } }, async (_request, reply) => {
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).send(body);
  });
}
