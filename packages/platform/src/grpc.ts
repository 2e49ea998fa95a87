import type { Server } from '@grpc/grpc-js';
import { ServerCredentials, status, type ServiceError, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AppError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { platformMetrics } from './metrics.js';
import { extractGrpcMetadata, markFailed, tracer } from './tracing.js';

const GRPC_STATUS: Record<ErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  not_found: status.NOT_FOUND,
  failed_precondition: status.FAILED_PRECONDITION,
  payload_too_large: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  config_invalid: status.INTERNAL,
  internal: status.INTERNAL,
};

/** Maps an error to a gRPC error the client can act on (no stack, no internals). */
export function grpcError(error: unknown): Partial<ServiceError> {
  if (error instanceof AppError) {
    const details = error.details.length > 0 ? `${error.message}: ${error.details.join('; ')}` : error.message;
    return { code: GRPC_STATUS[error.code], details, message: details };
  }
  return { code: status.INTERNAL, details: 'internal error', message: 'internal error' };
}

/**
 * Wraps an async handler as a grpc-js unary handler with our error mapping and logging. The call
 * runs in a server span continuing the caller's trace (W3C `traceparent` in the metadata, see
 * `traceMetadata`), and its duration is recorded in `dlr_grpc_request_duration_seconds`.
 */
export function unary<Req, Res>(
  logger: Logger,
  method: string,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const started = performance.now();
    const parent = extractGrpcMetadata(call.metadata);
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.method': method } },
      parent,
    );
    const finish = (code: status) => {
      span.setAttribute('rpc.grpc.status_code', code);
      span.end();
      platformMetrics.grpcDuration.observe(
        { method, code: status[code] ?? String(code) },
        (performance.now() - started) / 1_000,
      );
    };
    const run = async (): Promise<void> => {
      let response: Res;
      try {
        response = await fn(call.request, call);
      } catch (error) {
        const mapped = grpcError(error);
        const code = mapped.code ?? status.INTERNAL;
        if (!(error instanceof AppError) || code === status.INTERNAL || code === status.UNAVAILABLE) {
          logger.error({ err: error, method }, 'gRPC call failed');
          markFailed(span, error);
        }
        finish(code);
        callback(mapped, null);
        return;
      }
      finish(status.OK);
      callback(null, response);
    };
    // Logs written inside the handler carry this span's trace_id.
    void context.with(trace.setSpan(parent, span), run);
  };
}

/** Binds a gRPC server (insecure, for use behind the cluster's mTLS) and resolves with its port. */
export async function listenGrpc(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
}

/** Stops a gRPC server: lets calls finish for `graceMs`, then cancels what is left. */
export async function shutdownGrpc(server: Server, graceMs = 5_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
