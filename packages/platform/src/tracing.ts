import { Metadata } from '@grpc/grpc-js';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';

// Propagation follows W3C Trace Context (`traceparent`/`tracestate`), the propagator the SDK in
// telemetry.ts registers. While telemetry is off every helper here is a cheap no-op: the API's
// default propagator injects nothing and its default tracer creates non-recording spans.

/** The tracer every platform span comes from. */
export const tracer = trace.getTracer('@dlr/platform');

const natsSetter: TextMapSetter<MsgHdrs> = { set: (carrier, key, value) => carrier.set(key, value) };
const natsGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => carrier?.keys() ?? [],
  // nats headers answer '' for a missing key; the propagator must see undefined instead.
  get: (carrier, key) => (carrier?.has(key) === true ? carrier.get(key) : undefined),
};

const grpcSetter: TextMapSetter<Metadata> = { set: (carrier, key, value) => carrier.set(key, value) };
const grpcGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key).filter((v): v is string => typeof v === 'string');
    return values.length === 0 ? undefined : values;
  },
};

/** Writes the active trace context into NATS message headers (used by `publishDurable`). */
export function injectNatsHeaders(headers: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, natsSetter);
}

/** The trace context carried by NATS message headers, or the root context when there is none. */
export function extractNatsHeaders(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, natsGetter);
}

/**
 * gRPC metadata carrying the active trace context, for an outgoing call:
 * `client.method(request, traceMetadata(), callback)`. Adds to `metadata` when given.
 */
export function traceMetadata(metadata?: Metadata, ctx: Context = context.active()): Metadata {
  const md = metadata ?? new Metadata();
  propagation.inject(ctx, md, grpcSetter);
  return md;
}

/** The trace context carried by incoming gRPC metadata, or the root context when there is none. */
export function extractGrpcMetadata(metadata: Metadata | undefined): Context {
  if (metadata === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, metadata, grpcGetter);
}

/**
 * HTTP headers carrying the active trace context (`traceparent`, `tracestate`), for an outgoing
 * `fetch`: `headers: { ...traceHeaders(), authorization }`. Empty while telemetry is off.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context carried by incoming HTTP headers (node's lower-cased header object). */
export function extractHttpHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** The IDs of the active span, or undefined when there is none (or telemetry is off). */
export function activeTraceIds(ctx: Context = context.active()): { trace_id: string; span_id: string } | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** Options of {@link inSpan}. */
export interface InSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context when omitted. */
  parent?: Context;
}

/**
 * Runs `fn` in a new active span (child of `options.parent` or of the active span) and ends it when
 * `fn` settles; a thrown error marks the span as failed (its type only — messages may carry data)
 * and is rethrown unchanged.
 */
export async function inSpan<T>(name: string, options: InSpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed with the error's type (never its message: messages may carry personal data). */
export function markFailed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  span.setAttribute('error.type', type);
}

export { SpanKind };
