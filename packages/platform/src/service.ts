import { registeredRoutes, type HttpRoute } from './access.js';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { systemTopology } from '@dlr/contracts';
import { createAdminServer, Readiness, type ReadinessCheck } from './admin.js';
import { baseConfigShape, loadConfig } from './config.js';
import { addHealthAndReflection, listenGrpc, shutdownGrpc, type GrpcMethod, type GrpcServer } from './grpc.js';
import { createLogger, type Logger } from './logger.js';
import { connectMongo, type MongoHandle } from './mongo.js';
import { connectNats, ensureTopology, type ConsumerSpec, type NatsHandle } from './nats.js';
import { runMain, shutdownInOrder, type ShutdownStep } from './lifecycle.js';
import { startTelemetry } from './telemetry.js';

/** The base variables every service reads. */
export type BaseConfig = z.output<z.ZodObject<typeof baseConfigShape>>;

/** The validated, read-only configuration of a service whose own variables are `S`. */
export type ServiceConfig<S extends z.ZodRawShape> = Readonly<z.output<z.ZodObject<S & typeof baseConfigShape>>>;

/** What `buildApp` receives: validated config and open connections. */
export interface ServiceDeps<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly mongo: MongoHandle;
  readonly nats: NatsHandle;
}

/** What `buildApp` returns: servers that are built but not listening, and consumers not yet started. */
export interface BuiltApp {
  readonly http: FastifyInstance;
  /** Created with `new GrpcServer()`: `startService` adds health and reflection to it. */
  readonly grpc?: GrpcServer;
  /** Checks for readiness besides MongoDB and NATS, which every service has. */
  readonly readiness?: readonly ReadinessCheck[];
  /** Starts consuming NATS (called after the servers listen). */
  start?(): Promise<void>;
  /** Stops consuming and waits for in-flight messages (first shutdown step). */
  stopConsuming?(): Promise<void>;
}

/** A started service. */
export interface RunningService<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly httpUrl: string;
  /** `/healthz`, `/readyz` and `/metrics` (ADMIN_PORT). */
  readonly adminUrl: string;
  readonly grpcPort: number | undefined;
  /** Every HTTP route the service registered (from its server, with the access each declares). */
  readonly routes: readonly HttpRoute[];
  /** Every gRPC method its server serves (its own services, health and reflection). */
  readonly grpcMethods: readonly GrpcMethod[];
  /** Shuts down in order; true when every step finished cleanly. */
  stop(): Promise<boolean>;
  /** The steps `stop` runs, for `runMain`. */
  readonly shutdown: readonly ShutdownStep[];
}

/** How a service is started: its name, config shape, topology, migrations and wiring. */
export interface ServiceDefinition<S extends z.ZodRawShape> {
  name: string;
  shape: S;
  env?: Readonly<Record<string, string | undefined>>;
  /** Streams and consumers to ensure exist, given the namespace. Default: the whole system's (systemTopology). */
  topology?: (namespace: string) => {
    streams: Parameters<typeof ensureTopology>[1];
    consumers: readonly ConsumerSpec[];
  };
  /** Creates the service's indexes (retention TTLs from its config); must be idempotent. */
  migrate?: (mongo: MongoHandle, config: ServiceConfig<S>) => Promise<void>;
  /** gRPC port variable name in the config, when the service serves gRPC. */
  grpcPortKey?: keyof S & string;
  build: (deps: ServiceDeps<ServiceConfig<S>>) => Promise<BuiltApp>;
}

/** How often the gRPC health service's status is refreshed from the readiness checks. */
const HEALTH_INTERVAL_MS = 5_000;

/**
 * Starts a service: validates config (one error listing every bad variable), starts telemetry,
 * connects MongoDB and NATS (with retries), creates streams/consumers/indexes, builds the app,
 * listens — the app on HTTP_PORT, `/healthz` `/readyz` `/metrics` on ADMIN_PORT, gRPC (with health
 * and reflection) on the app's port — and starts consuming. Shutdown order: report not ready → stop
 * consuming → drain NATS → gRPC → HTTP → admin → MongoDB → telemetry.
 */
export async function startService<S extends z.ZodRawShape>(
  options: ServiceDefinition<S>,
): Promise<RunningService<ServiceConfig<S>>> {
  const env = options.env ?? process.env;
  const shape = { ...baseConfigShape, ...options.shape } as S & typeof baseConfigShape;
  const config = loadConfig(shape, env);
  const base = config as unknown as BaseConfig;
  const name = base.SERVICE_NAME ?? options.name;
  const telemetry = startTelemetry(name, env);
  const logger = createLogger(name, base.LOG_LEVEL);
  const steps: ShutdownStep[] = [];
  const cleanupOnFailure = async () => {
    await shutdownInOrder([...steps].reverse(), logger, 5_000);
    await telemetry.shutdown();
  };
  try {
    const mongo = await connectMongo({ uri: base.MONGODB_URI, dbName: base.MONGODB_DB, logger, appName: name });
    steps.push({ name: 'mongo', run: () => mongo.close() });
    const nats = await connectNats({ servers: base.NATS_URL, name, logger });
    steps.push({ name: 'nats', run: () => nats.drain() });
    const topology = (options.topology ?? systemTopology)(base.NATS_NAMESPACE);
    await ensureTopology(nats.jsm, topology.streams, topology.consumers);
    await options.migrate?.(mongo, config);
    const app = await options.build({ config, logger, mongo, nats });
    const readiness = new Readiness(
      [
        { name: 'mongodb', check: () => mongo.ping() },
        { name: 'nats', check: () => nats.ping() },
        ...(app.readiness ?? []),
      ],
      logger.child({ component: 'readiness' }),
    );
    const admin = createAdminServer({ logger, readiness });
    steps.push({ name: 'admin', run: () => admin.close() });
    steps.push({ name: 'http', run: () => app.http.close() });
    await app.http.listen({ host: base.HOST, port: base.HTTP_PORT });
    const httpPort = boundPort(app.http, base.HTTP_PORT);
    await admin.listen({ host: base.HOST, port: base.ADMIN_PORT });
    const adminPort = boundPort(admin, base.ADMIN_PORT);
    let grpcPort: number | undefined;
    let stopWatching = () => {};
    if (app.grpc && options.grpcPortKey) {
      const grpc = app.grpc;
      addHealthAndReflection(grpc, readiness);
      stopWatching = readiness.watch(HEALTH_INTERVAL_MS);
      steps.push({ name: 'health', run: () => Promise.resolve(stopWatching()) });
      grpcPort = await listenGrpc(grpc, base.HOST, Number((config as Record<string, unknown>)[options.grpcPortKey]));
      steps.push({ name: 'grpc', run: () => shutdownGrpc(grpc) });
    }
    await app.start?.();
    readiness.started();
    void readiness.report(); // gRPC health says SERVING now rather than at the next interval
    const shutdown: ShutdownStep[] = [
      {
        name: 'readiness',
        run: async () => {
          stopWatching();
          readiness.stopping();
        },
      },
      { name: 'consumers', run: () => app.stopConsuming?.() ?? Promise.resolve() },
      { name: 'nats', run: () => nats.drain() },
      ...(app.grpc ? [{ name: 'grpc', run: () => shutdownGrpc(app.grpc as GrpcServer) }] : []),
      { name: 'http', run: () => app.http.close() },
      { name: 'admin', run: () => admin.close() },
      { name: 'mongo', run: () => mongo.close() },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ];
    const httpUrl = `http://${base.HOST}:${httpPort}`;
    const adminUrl = `http://${base.HOST}:${adminPort}`;
    logger.info({ httpUrl, adminUrl, grpcPort, telemetry: telemetry.enabled }, 'started');
    return {
      config,
      logger,
      httpUrl,
      adminUrl,
      grpcPort,
      routes: registeredRoutes(app.http),
      grpcMethods: app.grpc?.methods ?? [],
      shutdown,
      stop: () => shutdownInOrder(shutdown, logger),
    };
  } catch (error) {
    await cleanupOnFailure();
    throw error;
  }
}

/** The port a fastify instance listens on (the configured one unless that was 0). */
function boundPort(app: FastifyInstance, configured: number): number {
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : configured;
}

/**
 * Prepares the stores a service needs — JetStream streams and consumers, MongoDB indexes — and
 * returns; idempotent, for a deploy hook or init container. Throws like {@link startService}.
 */
export async function migrateService<S extends z.ZodRawShape>(
  options: Pick<ServiceDefinition<S>, 'name' | 'shape' | 'env' | 'topology' | 'migrate'>,
): Promise<void> {
  const env = options.env ?? process.env;
  const full = loadConfig({ ...baseConfigShape, ...options.shape }, env) as unknown as ServiceConfig<S>;
  const config = full as unknown as BaseConfig;
  const logger = createLogger(config.SERVICE_NAME ?? options.name, config.LOG_LEVEL);
  const mongo = await connectMongo({
    uri: config.MONGODB_URI,
    dbName: config.MONGODB_DB,
    logger,
    appName: options.name,
  });
  try {
    const nats = await connectNats({ servers: config.NATS_URL, name: options.name, logger });
    try {
      const topology = (options.topology ?? systemTopology)(config.NATS_NAMESPACE);
      await ensureTopology(nats.jsm, topology.streams, topology.consumers);
      await options.migrate?.(mongo, full);
      logger.info({ streams: topology.streams.length, consumers: topology.consumers.length }, 'stores prepared');
    } finally {
      await nats.drain();
    }
  } finally {
    await mongo.close();
  }
}

/**
 * The whole of a service's `main.ts`: with `migrate` as the first argument it prepares the stores
 * and exits (0, or 1 with one clear line); otherwise it runs the service until SIGTERM/SIGINT.
 */
export function serviceMain<S extends z.ZodRawShape>(
  options: ServiceDefinition<S>,
  argv = process.argv.slice(2),
): void {
  if (argv[0] === 'migrate') {
    migrateService(options).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `${options.name}: migrate failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
    return;
  }
  runMain(options.name, () => startService(options));
}
