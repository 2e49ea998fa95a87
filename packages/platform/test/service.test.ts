import { Server } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  connectMongo,
  connectNats,
  createHttpServer,
  ensureIndexes,
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

  it('starts with a good configuration, answers /readyz and serves gRPC, then stops cleanly', async () => {
    const before = openSockets();
    const calls: string[] = [];
    let seenLimit: number | undefined;
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
      build: async ({ config, logger, mongo, nats }) => {
        calls.push('build');
        seenLimit = config.WIDGET_LIMIT;
        const http = createHttpServer({
          logger,
          readiness: [
            { name: 'mongo', check: () => mongo.ping() },
            { name: 'nats', check: () => nats.ping() },
          ],
        });
        return {
          http,
          grpc: new Server(),
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
    try {
      expect(calls).toEqual(['migrate', 'build', 'start']);
      expect(seenLimit).toBe(5);
      expect(service.config.NATS_NAMESPACE).toBe(namespace);
      expect(service.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(service.httpUrl).not.toBe('http://127.0.0.1:0');
      expect(service.grpcPort).toBeGreaterThan(0);

      const ready = await fetch(`${service.httpUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { mongo: 'ok', nats: 'ok' } });
      // Prometheus metrics on the same port, /readyz timed by its route.
      const metrics = await fetch(`${service.httpUrl}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).toMatch(
        /^dlr_http_request_duration_seconds_count\{method="GET",route="\/readyz",status_code="200"\} 1$/m,
      );

      const stream = await inspect.nats.jsm.streams.info(streamName);
      expect(stream.config.subjects).toEqual([`${namespace}.svc.>`]);
      expect((await inspect.nats.jsm.consumers.info(streamName, 'svc_worker')).config.filter_subject).toBe(
        `${namespace}.svc.work`,
      );
      const indexes = (await inspect.mongo.db.collection('widgets').indexes()).map((i) => i.name);
      expect(indexes).toContain('widgetId_unique');
    } finally {
      expect(await service.stop()).toBe(true);
    }
    expect(calls).toEqual(['migrate', 'build', 'start', 'stopConsuming']);
    await expect(fetch(`${service.httpUrl}/healthz`)).rejects.toThrow();
    await eventually(() => expect(openSockets(), 'open sockets').toBe(before), 5_000);
  });

  it("keeps an app's own GET /metrics", async () => {
    const before = openSockets();
    const service = await startService({
      name: 'svc-test',
      shape,
      env: goodEnv(),
      topology,
      build: async ({ logger }) => {
        const http = createHttpServer({ logger, readiness: [] });
        http.get('/metrics', async () => 'own_metric 1\n');
        return { http };
      },
    });
    try {
      expect(await (await fetch(`${service.httpUrl}/metrics`)).text()).toBe('own_metric 1\n');
    } finally {
      expect(await service.stop()).toBe(true);
    }
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
