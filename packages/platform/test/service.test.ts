import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  connectMongo,
  connectNats,
  createHttpServer,
  ensureIndexes,
  GrpcServer,
  migrateService,
  port,
  startService,
  type BuiltApp,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

const suffix = randomSuffix();
const namespace = `t${suffix}`;
const dbName = `t_${suffix}`;
const streamName = `SVC_${suffix}`;
const shape = { GRPC_PORT: port(0), WIDGET_LIMIT: z.coerce.number().int().positive() };

const topology = (ns: string) => ({
  streams: [{ name: streamName, subjects: [`${ns}.svc.>`] }],
  consumers: [{ stream: streamName, config: { durable_name: 'svc_worker', filter_subject: `${ns}.svc.work` } }],
});

/** Open sockets and listening servers of this process. */
const openSockets = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;

let inspect: { mongo: MongoHandle; nats: NatsHandle };

beforeAll(async () => {
  const { mongoUri, natsUrl } = infraUrls();
  const { logger } = memoryLogger();
  inspect = {
    mongo: await connectMongo({ uri: mongoUri, dbName, logger, appName: 'inspect' }),
    nats: await connectNats({ servers: natsUrl, name: 'inspect', logger }),
  };
});

afterAll(async () => {
  if (!inspect) return;
  await inspect.nats.jsm.streams.delete(streamName).catch(() => false);
  await inspect.mongo.db.dropDatabase();
  await inspect.mongo.close();
  await inspect.nats.drain();
});

function goodEnv(): Record<string, string> {
  const { mongoUri, natsUrl } = infraUrls();
  return {
    MONGODB_URI: mongoUri,
    MONGODB_DB: dbName,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: namespace,
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    GRPC_PORT: '0',
    WIDGET_LIMIT: '5',
    LOG_LEVEL: 'silent',
  };
}

describe('startService', () => {
  it('rejects a bad configuration with one ConfigError listing every variable, and opens nothing', async () => {
    const before = openSockets();
    const build = vi.fn<() => Promise<BuiltApp>>();
    const migrate = vi.fn(async () => undefined);
    const topologyFn = vi.fn(topology);
    const error: unknown = await startService({
      name: 'svc-test',
      shape,
      env: {
        MONGODB_URI: 'postgres://admin:pa55word-xyz@10.0.0.7/',
        MONGODB_DB: dbName,
        HTTP_PORT: 'http',
        GRPC_PORT: '99999',
        LOG_LEVEL: 'silent',
      },
      topology: topologyFn,
      migrate,
      build,
    }).then(
      () => new Error('started with a bad configuration'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const { details, message } = error as ConfigError;
    expect(details.map((d) => d.split(':')[0]).sort()).toEqual(
      ['GRPC_PORT', 'HTTP_PORT', 'MONGODB_URI', 'NATS_URL', 'WIDGET_LIMIT'].sort(),
    );
    expect(message).not.toContain('pa55word-xyz');
    expect(topologyFn).not.toHaveBeenCalled();
    expect(migrate).not.toHaveBeenCalled();
    expect(build).not.toHaveBeenCalled();
    expect(openSockets()).toBe(before);
  });

  it('starts with a good configuration: the app on HTTP_PORT, /readyz and /metrics on ADMIN_PORT, gRPC with health; then stops cleanly', async () => {
    const before = openSockets();
    const calls: string[] = [];
    let seenLimit: number | undefined;
    let extraCheck: () => Promise<void> = () => Promise.resolve();
    const service = await startService({
      name: 'svc-test',
      shape,
      env: goodEnv(),
      topology,
      grpcPortKey: 'GRPC_PORT',
      migrate: async (mongo) => {
        calls.push('migrate');
        await ensureIndexes(mongo.db, 'widgets', [{ key: { widgetId: 1 }, name: 'widgetId_unique', unique: true }]);
      },
      build: async ({ config, logger }) => {
        calls.push('build');
        seenLimit = config.WIDGET_LIMIT;
        const http = await createHttpServer({ logger });
        return {
          http,
          grpc: new GrpcServer(),
          readiness: [{ name: 'widgets', check: () => extraCheck() }],
          start: async () => {
            expect(http.server.listening).toBe(true);
            calls.push('start');
          },
          stopConsuming: async () => {
            calls.push('stopConsuming');
          },
        };
      },
    });
    const health = new (makeGenericClientConstructor(healthService, 'Health'))(
      `127.0.0.1:${service.grpcPort}`,
      credentials.createInsecure(),
    );
    try {
      expect(calls).toEqual(['migrate', 'build', 'start']);
      expect(seenLimit).toBe(5);
      expect(service.config.NATS_NAMESPACE).toBe(namespace);
      expect(service.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(service.httpUrl).not.toBe('http://127.0.0.1:0');
      expect(service.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(service.adminUrl).not.toBe(service.httpUrl);
      expect(service.grpcPort).toBeGreaterThan(0);

      const ready = await fetch(`${service.adminUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { mongodb: 'ok', nats: 'ok', widgets: 'ok' } });
      const metrics = await fetch(`${service.adminUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('process_cpu_seconds_total');
      expect((await fetch(`${service.adminUrl}/healthz`)).status).toBe(200);
      // The app's port keeps /healthz only.
      expect((await fetch(`${service.httpUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${service.httpUrl}/readyz`)).status).toBe(404);
      expect((await fetch(`${service.httpUrl}/metrics`)).status).toBe(404);

      // gRPC health, without credentials: SERVING while ready, NOT_SERVING while a check fails.
      expect(await healthCheck(health, '')).toBe('SERVING');
      extraCheck = () => Promise.reject(new Error('widget store down'));
      expect((await fetch(`${service.adminUrl}/readyz`)).status).toBe(503);
      expect(await healthCheck(health, '')).toBe('NOT_SERVING');
      extraCheck = () => Promise.resolve();
      expect((await fetch(`${service.adminUrl}/readyz`)).status).toBe(200);
      expect(await healthCheck(health, '')).toBe('SERVING');
      expect(await healthCheck(health, 'no.such.Service').catch((e: ServiceError) => e.code)).toBe(5);

      const stream = await inspect.nats.jsm.streams.info(streamName);
      expect(stream.config.subjects).toEqual([`${namespace}.svc.>`]);
      expect((await inspect.nats.jsm.consumers.info(streamName, 'svc_worker')).config.filter_subject).toBe(
        `${namespace}.svc.work`,
      );
      const indexes = (await inspect.mongo.db.collection('widgets').indexes()).map((i) => i.name);
      expect(indexes).toContain('widgetId_unique');
    } finally {
      health.close();
      expect(await service.stop()).toBe(true);
    }
    expect(calls).toEqual(['migrate', 'build', 'start', 'stopConsuming']);
    await expect(fetch(`${service.httpUrl}/healthz`)).rejects.toThrow();
    await expect(fetch(`${service.adminUrl}/healthz`)).rejects.toThrow();
    await eventually(() => expect(openSockets(), 'open sockets').toBe(before), 5_000);
  });

  it('closes MongoDB and NATS again when building the app fails', async () => {
    const before = openSockets();
    const error: unknown = await startService({
      name: 'svc-test',
      shape,
      env: goodEnv(),
      topology,
      build: async () => {
        throw new Error('cannot build');
      },
    }).then(
      () => new Error('started although build failed'),
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('cannot build');
    await eventually(() => expect(openSockets(), 'open sockets').toBe(before), 5_000);
  });
});

/** The status `grpc.health.v1.Health/Check` answers for `service`, within 5 s. */
function healthCheck(client: Client, service: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (client as unknown as Record<string, (...args: unknown[]) => void>)['Check']!.bind(client);
    check({ service }, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, res?: { status: string }) =>
      error ? reject(error) : resolve(res!.status),
    );
  });
}

describe('migrateService', () => {
  it('prepares streams, consumers and indexes, twice without harm, and leaves nothing open', async () => {
    const before = openSockets();
    const migrate = async (mongo: MongoHandle) =>
      ensureIndexes(mongo.db, 'widgets', [{ key: { kind: 1 }, name: 'kind' }]);
    const definition = { name: 'svc', shape, env: goodEnv(), topology, migrate };
    await migrateService(definition);
    await migrateService(definition);
    const consumer = await inspect.nats.jsm.consumers.info(streamName, 'svc_worker');
    expect(consumer.config.filter_subject).toBe(`${namespace}.svc.work`);
    const indexes = await inspect.mongo.db.collection('widgets').indexes();
    expect(indexes.map((i) => i.name)).toContain('kind');
    await eventually(() => expect(openSockets()).toBeLessThanOrEqual(before));
  });

  it('fails with the configuration error and touches nothing', async () => {
    const error = await migrateService({
      name: 'svc',
      shape,
      env: { ...goodEnv(), MONGODB_URI: 'nope' },
      topology,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).details).toEqual(['MONGODB_URI: must be a mongodb:// or mongodb+srv:// URI']);
  });
});
