import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { installAccess } from './access.js';
import { installMethodNotAllowed } from './method-not-allowed.js';
import { AppError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { platformMetrics } from './metrics.js';
import type { OperatorAuth } from './operator-auth.js';
import { extractHttpHeaders, tracer } from './tracing.js';

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
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
          : status === 403
            ? 'permission_denied'
            : status === 404
              ? 'not_found'
              : 'invalid_argument';
    return { status, body: { error: code, message: fastifyError.message ?? 'bad request' } };
  }
  return { status: 500, body: { error: 'internal', message: 'internal error' } };
}

/** The server span of each request being served, by node request. */
const requestSpans = new WeakMap<IncomingMessage, Span>();

/**
 * A node HTTP server whose every request runs in a server span continuing the caller's trace
 * (W3C `traceparent`), with the request and response emitters bound to it, so the route handler,
 * its logs and whatever it publishes belong to that trace. The span is named after the route in
 * the `onRequest` hook of {@link createHttpServer}.
 */
function tracedServerFactory(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: FastifyServerOptions,
): ReturnType<typeof createServer> {
  const server = createServer((req, res) => {
    const parent = extractHttpHeaders(req.headers);
    const method = req.method ?? 'GET';
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
      parent,
    );
    requestSpans.set(req, span);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('error.type', 'aborted');
      span.end();
    });
    const ctx = trace.setSpan(parent, span);
    context.with(ctx, () => handler(context.bind(ctx, req), context.bind(ctx, res)));
  });
  // What fastify sets on the server it creates itself.
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
  if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
  return server;
}

/**
 * Content-Security-Policy of every page: scripts only from our own files (the reports' bundled
 * script), inline styles (the pages carry their own), live updates (SSE) to our own origin, forms
 * posting to our own origin, never framed.
 */
const CSP = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'unsafe-inline'"],
  'img-src': ["'self'"],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
};

/**
 * Creates a fastify instance with our logger, one error mapping, security headers (@fastify/helmet),
 * cookies, rate limits routes opt into (`config.rateLimit`), the access check of every route
 * (`config.access` / `config.role`, see access.ts), 405 with `Allow` for an undeclared method on a
 * declared path, and `/healthz` (the process is alive). With
 * `auth`, also the operator sign-in form. Does not listen. Each request is a server span continuing
 * the caller's trace and is timed in `dlr_http_request_duration_seconds` by route pattern.
 * `/readyz` and `/metrics` are on the admin port (`createAdminServer`, started by `startService`),
 * never on this one.
 */
export async function createHttpServer(options: {
  logger: Logger;
  bodyLimit?: FastifyServerOptions['bodyLimit'];
  trustProxy?: boolean;
  /** Operator sign-in; without it, only public routes may be registered. */
  auth?: OperatorAuth | undefined;
  /** Name shown on the sign-in page. */
  title?: string;
}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    bodyLimit: options.bodyLimit ?? 1_048_576,
    trustProxy: options.trustProxy ?? false,
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's default type parameters.
    loggerInstance: options.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    // Request lines would carry URLs with tokens; services log what matters themselves.
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: tracedServerFactory,
  });
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    const span = requestSpans.get(request.raw);
    if (span !== undefined && route !== undefined) {
      span.updateName(`${request.method} ${route}`);
      span.setAttribute('http.route', route);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    platformMetrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1_000,
    );
  });
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = httpError(error);
    if (status >= 500) request.log.error({ err: error, url: request.routeOptions.url }, 'request failed');
    void reply.status(status).send(body);
  });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    // The open pixel is loaded by mail clients on other origins.
    crossOriginResourcePolicy: false,
  });
  await app.register(fastifyCookie, { secret: options.auth?.sessionSecret ?? randomBytes(32).toString('base64url') });
  // Per replica, in memory: a limit per client address (or per key a route gives), not a global quota.
  await app.register(fastifyRateLimit, { global: false });
  installAccess(app, options.auth);
  installMethodNotAllowed(app);
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  const auth = options.auth;
  if (auth !== undefined) {
    // Own scope: the form parser does not reach the service's routes.
    await app.register(async (scope) => {
      await scope.register(fastifyFormbody, { bodyLimit: 16_384 });
      auth.registerSignIn(scope, options.title);
    });
  }
  return app;
}
