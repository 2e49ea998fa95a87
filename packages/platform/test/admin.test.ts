import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectMongo,
  connectNats,
  createAdminServer,
  Readiness,
  type MongoHandle,
  type NatsHandle,
  type ReadinessCheck,
} from '@dlr/platform';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

let mongo: MongoHandle;
let nats: NatsHandle;
const { logger, raw } = memoryLogger('admin-test');

beforeAll(async () => {
  const { mongoUri, natsUrl } = infraUrls();
  mongo = await connectMongo({ uri: mongoUri, dbName: `t_${randomSuffix()}`, logger, appName: 'admin-test' });
  nats = await connectNats({ servers: natsUrl, name: 'admin-test', logger });
});

afterAll(async () => {
  await mongo?.close();
  await nats?.drain();
});

const realChecks = (): ReadinessCheck[] => [
  { name: 'mongo', check: () => mongo.ping() },
  { name: 'nats', check: () => nats.ping() },
];

function started(checks: ReadinessCheck[]): Readiness {
  const readiness = new Readiness(checks, logger);
  readiness.started();
  return readiness;
}

describe('createAdminServer', () => {
  it('answers /healthz, and /readyz 200 when every check passes', async () => {
    const app = createAdminServer({ logger, readiness: started(realChecks()) });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { mongo: 'ok', nats: 'ok' } });
    await app.close();
  });

  it('answers /readyz 503 naming a check that throws and one that hangs past 2 s, without their error text', async () => {
    const readiness = started([
      ...realChecks(),
      { name: 'broken', check: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:27017')) },
      { name: 'stuck', check: () => new Promise<void>(() => undefined) },
    ]);
    const app = createAdminServer({ logger, readiness });
    const t0 = Date.now();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    const elapsed = Date.now() - t0;
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'not ready',
      checks: { mongo: 'ok', nats: 'ok', broken: 'unavailable', stuck: 'unavailable' },
    });
    expect(res.body).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|2000 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(5_000);
    // The reason goes to the log, once per failing spell.
    await app.inject({ method: 'GET', url: '/readyz' });
    const lines = raw()
      .split('\n')
      .filter((l) => l.includes('readiness check fails') && l.includes('"check":"broken"'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ECONNREFUSED 10.0.0.7:27017');
    await app.close();
  });

  it('/readyz is 503 "starting" before the service started and "stopping" once it stops', async () => {
    const readiness = new Readiness(realChecks(), logger);
    const changes: boolean[] = [];
    readiness.onChange((ready) => changes.push(ready));
    const app = createAdminServer({ logger, readiness });
    const starting = await app.inject({ method: 'GET', url: '/readyz' });
    expect([starting.statusCode, starting.json()]).toEqual([
      503,
      { status: 'starting', checks: { mongo: 'ok', nats: 'ok' } },
    ]);
    readiness.started();
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    readiness.stopping();
    const stopping = await app.inject({ method: 'GET', url: '/readyz' });
    expect([stopping.statusCode, stopping.json()]).toEqual([
      503,
      { status: 'stopping', checks: { mongo: 'ok', nats: 'ok' } },
    ]);
    expect(changes).toEqual([false, true, false]);
    await app.close();
  });

  it('serves the Prometheus registry on /metrics', async () => {
    const app = createAdminServer({ logger, readiness: started([]) });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('process_cpu_seconds_total');
    await app.close();
  });
});
