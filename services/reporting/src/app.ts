// Wires the reporting service: projections from NATS into MongoDB, and the reads over HTTP and gRPC.
import {
  createHttpServer,
  GrpcAuth,
  type BuiltApp,
  type ConsumerHandle,
  type Logger,
  type MongoHandle,
  OperatorAuth,
  type ServiceDeps,
} from '@dlr/platform';
import type { z } from 'zod';
import { buildGrpcServer } from './adapters/grpc/server.js';
import { registerRoutes } from './adapters/http/routes.js';
import { migrateHistory, MongoCountHistory } from './adapters/mongo/history.js';
import { migrateRecords, RecordsRepository } from './adapters/mongo/records.js';
import { migrateReportReads, MongoReportReads } from './adapters/mongo/report-reads.js';
import { MongoTitles } from './adapters/mongo/titles.js';
import { startPartitionWorkers } from './adapters/nats/partitions.js';
import { startErasureRouter, startRemovalRouter, startRouter } from './adapters/nats/router.js';
import { statusChangePublisher } from './adapters/nats/status-changes.js';
import type { configShape } from './config.js';
import { startCountSnapshots, type CountSnapshots } from './domain/history.js';
import { ReportQueries } from './domain/report-queries.js';
import { ChangeWatcher } from './domain/watch.js';

/** Reporting's validated configuration. */
export type Config = Readonly<z.output<z.ZodObject<typeof configShape>>> & {
  readonly NATS_NAMESPACE: string;
};

/** Creates reporting's indexes; idempotent. */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await migrateRecords(mongo.db);
  await migrateReportReads(mongo.db);
  await migrateHistory(mongo.db);
}

/** Builds the HTTP and gRPC servers and the consumers; listens on nothing and consumes nothing yet. */
export async function buildApp(deps: ServiceDeps<Config>): Promise<BuiltApp> {
  const { config, logger, mongo, nats } = deps;
  const repo = new RecordsRepository(mongo.db, mongo.store);
  const titles = new MongoTitles(mongo.db);
  const reads = new MongoReportReads(mongo.db, mongo.store);
  const history = new MongoCountHistory(mongo.db);
  const queries = new ReportQueries(reads, titles, history);
  const watcher = new ChangeWatcher(queries, logger.child({ component: 'live' }));

  const auth = OperatorAuth.fromConfig(config);
  const http = await createHttpServer({ logger, auth, title: 'Delivery Reporting' });
  await registerRoutes(http, { queries, watcher, logger });
  const grpcLogger = logger.child({ component: 'grpc' });
  const grpc = buildGrpcServer(queries, watcher, new GrpcAuth(auth, config.SERVICE_TOKEN), grpcLogger);

  let consumers: ConsumerHandle[] = [];
  let starting: Promise<void> | undefined;
  let stopping = false;
  let stopExpiry: (() => Promise<void>) | undefined;
  let snapshots: CountSnapshots | undefined;
  const start = async (): Promise<void> => {
    const namespace = config.NATS_NAMESPACE;
    stopExpiry = startRecordExpiry(repo, config, logger.child({ component: 'retention' }));
    snapshots = startCountSnapshots({
      counts: (communicationId) => reads.counts(communicationId),
      store: history,
      tickMs: config.REPORTING_HISTORY_TICK_SECONDS * 1_000,
      bucketMs: config.REPORTING_HISTORY_BUCKET_SECONDS * 1_000,
      logger: logger.child({ component: 'history' }),
    });
    const counted = snapshots;
    consumers.push(
      await startPartitionWorkers({
        nats,
        namespace,
        repo,
        changes: statusChangePublisher(nats, namespace),
        logger: logger.child({ component: 'projection' }),
        batchSize: config.REPORTING_BATCH_SIZE,
        onCounted: (keys) => counted.changed(keys),
      }),
    );
    if (stopping) return;
    consumers.push(
      await startRouter({
        nats,
        namespace,
        titles,
        concurrency: config.REPORTING_CONCURRENCY,
        logger: logger.child({ component: 'router' }),
      }).catch(async (error: unknown) => {
        // A failed start leaves nothing consuming (the service's clean-up does not stop consumers).
        for (const c of consumers.splice(0)) await c.stop();
        throw error;
      }),
    );
    if (stopping) return;
    consumers.push(
      await startErasureRouter({ nats, namespace, logger: logger.child({ component: 'erasure' }), titles }).catch(
        async (error: unknown) => {
          for (const c of consumers.splice(0)) await c.stop();
          throw error;
        },
      ),
    );
    if (stopping) return;
    consumers.push(
      await startRemovalRouter({
        nats,
        namespace,
        concurrency: config.REPORTING_CONCURRENCY,
        logger: logger.child({ component: 'removals' }),
      }).catch(async (error: unknown) => {
        for (const c of consumers.splice(0)) await c.stop();
        throw error;
      }),
    );
  };
  return {
    http,
    grpc,
    start: () => (starting = start()),
    stopConsuming: async () => {
      stopping = true;
      watcher.close();
      await stopExpiry?.();
      // A stop that comes while the consumers are starting waits for them, then stops them.
      await starting?.catch(() => undefined);
      // Routing first (it feeds the partitions), then the partitions finish their batches.
      for (const c of consumers.reverse()) await c.stop();
      consumers = [];
      // After the projection stopped, so the last snapshot has its last counts.
      await snapshots?.stop();
    },
  };
}

/**
 * Every RETENTION_SWEEP_SECONDS, deletes the communications whose records all stopped changing
 * DELIVERY_RECORD_RETENTION_SECONDS ago (off at 0). A failed sweep is logged and tried next time.
 */
function startRecordExpiry(
  repo: RecordsRepository,
  config: Pick<Config, 'DELIVERY_RECORD_RETENTION_SECONDS' | 'RETENTION_SWEEP_SECONDS'>,
  logger: Logger,
): () => Promise<void> {
  const seconds = config.DELIVERY_RECORD_RETENTION_SECONDS;
  if (seconds <= 0) return () => Promise.resolve();
  let running: Promise<void> = Promise.resolve();
  const sweep = async () => {
    try {
      const expired = await repo.expireCommunications(new Date(Date.now() - seconds * 1_000));
      if (expired > 0) logger.info({ communications: expired }, 'expired communications deleted');
    } catch (error) {
      logger.warn({ err: error }, 'record retention sweep failed; next time');
    }
  };
  const timer = setInterval(() => {
    running = running.then(sweep);
  }, config.RETENTION_SWEEP_SECONDS * 1_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
