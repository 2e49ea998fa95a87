import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppError,
  connectMongo,
  connectNats,
  createHttpServer,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  type MongoHandle,
  type NatsHandle,
  type ReadinessCheck,
} from '@dlr/platform';
import { infraUrls, memoryLogger, randomSuffix } from './helpers.js';

let mongo: MongoHandle;
let nats: NatsHandle;
const { logger, raw } = memoryLogger('http-test');

beforeAll(async () => {
  const { mongoUri, natsUrl } = infraUrls();
  mongo = await connectMongo({ uri: mongoUri, dbName: `t_${randomSuffix()}`, logger, appName: 'http-test' });
  nats = await connectNats({ servers: natsUrl, name: 'http-test', logger });
});

afterAll(async () => {
  await mongo?.close();
  await nats?.drain();
});

const realChecks = (): ReadinessCheck[] => [
  { name: 'mongo', check: () => mongo.ping() },
  { name: 'nats', check: () => nats.ping() },
];

describe('createHttpServer', () => {
  it('answers /healthz', async () => {
    const app = createHttpServer({ logger, readiness: [] });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    await app.close();
  });

  it('answers /readyz 200 when every check passes', async () => {
    const app = createHttpServer({ logger, readiness: realChecks() });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { mongo: 'ok', nats: 'ok' } });
    await app.close();
  });

  it('answers /readyz 503 naming a check that throws and one that hangs past 2 s', async () => {
    const app = createHttpServer({
      logger,
      readiness: [
        ...realChecks(),
        { name: 'broken', check: () => Promise.reject(new Error('connection refused')) },
        { name: 'stuck', check: () => new Promise<void>(() => undefined) },
      ],
    });
    const started = Date.now();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    const elapsed = Date.now() - started;
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'not ready',
      checks: {
        mongo: 'ok',
        nats: 'ok',
        broken: 'unavailable: connection refused',
        stuck: 'unavailable: no answer within 2000 ms',
      },
    });
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(5_000);
    await app.close();
  });

  it('maps AppErrors thrown by routes to their status and body', async () => {
    const app = createHttpServer({ logger, readiness: [] });
    const errors: Record<string, AppError> = {
      invalid: new InvalidArgumentError('invalid request', ['to: is required']),
      missing: new NotFoundError('communication c_1 not found'),
      conflict: new FailedPreconditionError('already sent'),
      unauth: new UnauthenticatedError('bad signature'),
      down: new UnavailableError('store unavailable', new Error('ECONNREFUSED 10.0.0.7:27017')),
      big: new AppError('payload_too_large', 'too many recipients'),
    };
    app.get('/fail/:kind', async (request) => {
      throw errors[(request.params as { kind: string }).kind] ?? new Error('unknown kind');
    });
    const expected: Record<string, [number, unknown]> = {
      invalid: [400, { error: 'invalid_argument', message: 'invalid request', details: ['to: is required'] }],
      missing: [404, { error: 'not_found', message: 'communication c_1 not found' }],
      conflict: [409, { error: 'failed_precondition', message: 'already sent' }],
      unauth: [401, { error: 'unauthenticated', message: 'bad signature' }],
      down: [503, { error: 'unavailable', message: 'store unavailable' }],
      big: [413, { error: 'payload_too_large', message: 'too many recipients' }],
    };
    for (const [kind, [status, body]] of Object.entries(expected)) {
      const res = await app.inject({ method: 'GET', url: `/fail/${kind}` });
      expect([kind, res.statusCode, res.json()]).toEqual([kind, status, body]);
    }
    await app.close();
  });

  it('answers 500 internal for an unknown error, without its message, and logs it', async () => {
    const app = createHttpServer({ logger, readiness: [] });
    app.get('/crash', async () => {
      throw new Error('secret internals at mongodb://admin:pw@10.0.0.7');
    });
    const res = await app.inject({ method: 'GET', url: '/crash' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: 'internal error' });
    expect(res.body).not.toContain('secret');
    expect(raw()).toContain('request failed');
    await app.close();
  });

  it('maps framework errors: schema validation → 400, body over the limit → 413', async () => {
    const app = createHttpServer({ logger, readiness: [], bodyLimit: 64 });
    app.post(
      '/items',
      { schema: { body: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } },
      async () => ({ ok: true }),
    );
    const invalid = await app.inject({ method: 'POST', url: '/items', payload: { name: 'x' } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ error: 'invalid_argument' });
    const big = await app.inject({ method: 'POST', url: '/items', payload: { id: 'x'.repeat(200) } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: 'payload_too_large' });
    const ok = await app.inject({ method: 'POST', url: '/items', payload: { id: 'x' } });
    expect(ok.json()).toEqual({ ok: true });
    await app.close();
  });
});
