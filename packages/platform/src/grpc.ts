import type { Server } from '@grpc/grpc-js';
import { ServerCredentials, status, type ServiceError, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { AppError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

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

/** Wraps an async handler as a grpc-js unary handler with our error mapping and logging. */
export function unary<Req, Res>(
  logger: Logger,
  method: string,
  fn: (request: Req) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    fn(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const mapped = grpcError(error);
        if (!(error instanceof AppError) || mapped.code === status.INTERNAL || mapped.code === status.UNAVAILABLE) {
          logger.error({ err: error, method }, 'gRPC call failed');
        }
        callback(mapped, null);
      },
    );
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
