import {
  Server,
  ServerCredentials,
  status,
  type ServiceDefinition,
  type ServiceError,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { fileDescriptorProtos } from '@dlr/contracts';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Readiness } from './admin.js';
import { AppError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { platformMetrics } from './metrics.js';
import { extractGrpcMetadata, markFailed, tracer } from './tracing.js';
import { isTransient } from './transient.js';

const GRPC_STATUS: Record<ErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
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
  // The store or NATS down or timed out: the client may try again (same request, same effect).
  if (isTransient(error)) {
    const details = 'a dependency of this service is unavailable or slow; try again';
    return { code: status.UNAVAILABLE, details, message: details };
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

/**
 * The services every gRPC server of ours answers without credentials: health (Kubernetes gRPC
 * probes, `grpc.health.v1.Health/Check`) and reflection (`grpcurl list` without .proto files). Added
 * by `startService` beside the service's own, which stay behind `protectGrpc`.
 */
export const PUBLIC_GRPC_SERVICES: readonly string[] = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/** A method a {@link GrpcServer} serves. */
export interface GrpcMethod {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** A grpc-js `Server` that knows the fully-qualified names and the methods of the services added to it. */
export class GrpcServer extends Server {
  readonly #services = new Set<string>();
  readonly #methods: GrpcMethod[] = [];

  override addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    super.addService(service, implementation);
    for (const method of Object.values(service)) {
      this.#methods.push({
        path: method.path,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
      });
      const name = /^\/([^/]+)\//.exec(method.path)?.[1];
      if (name !== undefined) this.#services.add(name);
    }
  }

  /** Every method of the services added (health and reflection included once added), e.g. `/dlr.reporting.v1.ReportingService/ListDeliveryRecords`. */
  get methods(): readonly GrpcMethod[] {
    return [...this.#methods];
  }

  /** E.g. `dlr.reporting.v1.ReportingService`, in the order they were added. */
  get serviceNames(): string[] {
    return [...this.#services];
  }
}

/**
 * Adds the {@link PUBLIC_GRPC_SERVICES} to `server` (before it listens): health, SERVING or
 * NOT_SERVING for the server as a whole (`""`) and for each of its services as `readiness` changes
 * (NOT_SERVING until the first report), and reflection over the descriptors of proto/ for the
 * services the server has.
 */
export function addHealthAndReflection(server: GrpcServer, readiness: Readiness): void {
  const names = server.serviceNames;
  const health = new HealthImplementation();
  const setAll = (s: ServingStatus) => {
    for (const name of ['', ...names]) health.setStatus(name, s);
  };
  setAll('NOT_SERVING');
  readiness.onChange((ready) => setAll(ready ? 'SERVING' : 'NOT_SERVING'));
  health.addToServer(server);
  new ReflectionService(reflectedFiles(), { services: [...names, 'grpc.health.v1.Health'] }).addToServer(server);
}

/**
 * Our descriptors in the one shape `ReflectionService` reads: entries whose `fileDescriptorProtos`
 * it indexes. Not proto-loader's `loadFileDescriptorSetFromBuffer`: its round trip through
 * protobufjs rewrites type references (`delivery.v1.Channel`) and map entry names, and grpcurl (Go's
 * protobuf) then refuses the files.
 */
function reflectedFiles(): PackageDefinition {
  const files = fileDescriptorProtos().map((bytes) => Buffer.from(bytes));
  return {
    files: { format: 'Protocol Buffer 3 FileDescriptorProto', type: {}, fileDescriptorProtos: files },
  } as unknown as PackageDefinition;
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
