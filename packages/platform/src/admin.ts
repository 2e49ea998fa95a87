// The admin listener of every service (ADMIN_PORT): liveness, readiness and Prometheus metrics, apart
// from the service's own port so that no Ingress or HTTPRoute in front of that port can expose them.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import { renderMetrics } from './metrics.js';

/** A named dependency check for `/readyz` and the gRPC health service. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** What {@link Readiness.report} found: each check `ok` or `unavailable`, never an error's text. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** `ready`, `not ready` (a check fails), `starting` (consumers not started yet) or `stopping`. */
  readonly status: 'ready' | 'not ready' | 'starting' | 'stopping';
  readonly checks: Readonly<Record<string, 'ok' | 'unavailable'>>;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * The readiness of a service: it has started (consumers included), is not stopping, and every check
 * answers within 2 s. The reasons a check failed go to the log (once when it starts failing, once
 * when it recovers), never to whoever asks: `/readyz` is an unauthenticated endpoint.
 */
export class Readiness {
  readonly #checks: readonly ReadinessCheck[];
  readonly #logger: Logger;
  readonly #failing = new Set<string>();
  readonly #listeners = new Set<(ready: boolean) => void>();
  #phase: 'starting' | 'running' | 'stopping' = 'starting';
  #last: boolean | undefined;

  constructor(checks: readonly ReadinessCheck[], logger: Logger) {
    this.#checks = checks;
    this.#logger = logger;
  }

  /** Runs every check at once; never throws. */
  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.#checks.map(async (c) => {
        const { name } = c;
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          if (this.#failing.delete(name)) this.#logger.info({ check: name }, 'readiness check passes again');
          return [name, 'ok'] as const;
        } catch (error) {
          if (!this.#failing.has(name)) {
            this.#failing.add(name);
            this.#logger.warn({ check: name, err: describe(error) }, 'readiness check fails');
          }
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const passing = results.every(([, s]) => s === 'ok');
    const status = this.#phase === 'running' ? (passing ? 'ready' : 'not ready') : this.#phase;
    const ready = status === 'ready';
    this.#publish(ready);
    return { ready, status, checks: Object.fromEntries(results) };
  }

  /** The service has started: it is ready whenever its checks pass. */
  started(): void {
    if (this.#phase === 'starting') this.#phase = 'running';
  }

  /** From now on the service reports not ready (first step of a shutdown: traffic drains away). */
  stopping(): void {
    this.#phase = 'stopping';
    this.#publish(false);
  }

  /** Calls `listener` with each change of readiness (and with the first report). */
  onChange(listener: (ready: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reports every `intervalMs` (and at once) until the returned function is called. */
  watch(intervalMs: number): () => void {
    const tick = () => void this.report();
    tick();
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  #publish(ready: boolean): void {
    if (ready === this.#last) return;
    this.#last = ready;
    for (const listener of this.#listeners) listener(ready);
  }
}

/**
 * The admin server (not listening): `GET /healthz` (the process is alive), `GET /readyz` (200 or 503
 * with each check's state, no error text) and `GET /metrics` (Prometheus text format).
 */
export function createAdminServer(options: { logger: Logger; readiness: Readiness }): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger.child({ component: 'admin' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const { ready, status, checks } = await options.readiness.report();
    return reply.status(ready ? 200 : 503).send({ status, checks });
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).send(body);
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
