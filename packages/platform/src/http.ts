import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { AppError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

/** A named dependency check for /readyz. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  not_found: 404,
  failed_precondition: 409,
  payload_too_large: 413,
  unavailable: 503,
  config_invalid: 500,
  internal: 500,
};

/** Maps an error to an HTTP status and a body safe to show (no stack, no internals). */
export function httpError(error: unknown): {
  status: number;
  body: { error: string; message: string; details?: readonly string[] };
} {
  if (error instanceof AppError) {
    return {
      status: HTTP_STATUS[error.code],
      body: { error: error.code, message: error.message, ...(error.details.length ? { details: error.details } : {}) },
    };
  }
  // `throw undefined` / `throw null` reach here too: read them as an error without fields.
  const fastifyError = (error ?? {}) as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const code =
      status === 413
        ? 'payload_too_large'
        : status === 401
          ? 'unauthenticated'
          : status === 404
            ? 'not_found'
            : 'invalid_argument';
    return { status, body: { error: code, message: fastifyError.message ?? 'bad request' } };
  }
  return { status: 500, body: { error: 'internal', message: 'internal error' } };
}

/**
 * Creates a fastify instance with our logger, one error mapping, and `/healthz` (the process is
 * alive) and `/readyz` (every dependency answers) routes. Does not listen.
 */
export function createHttpServer(options: {
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  bodyLimit?: FastifyServerOptions['bodyLimit'];
  trustProxy?: boolean;
}): FastifyInstance {
  const app: FastifyInstance = Fastify({
    bodyLimit: options.bodyLimit ?? 1_048_576,
    trustProxy: options.trustProxy ?? false,
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's default type parameters.
    loggerInstance: options.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    // Request lines would carry URLs with tokens; services log what matters themselves.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = httpError(error);
    if (status >= 500) request.log.error({ err: error, url: request.routeOptions.url }, 'request failed');
    void reply.status(status).send(body);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      options.readiness.map(async (r) => {
        try {
          await withTimeout(r.check(), 2_000);
          return [r.name, 'ok'] as const;
        } catch (error) {
          return [r.name, `unavailable: ${error instanceof Error ? error.message : String(error)}`] as const;
        }
      }),
    );
    const ready = results.every(([, s]) => s === 'ok');
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  });
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
