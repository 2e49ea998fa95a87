import { describe, expect, it } from 'vitest';
import {
  AppError,
  createHttpServer,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
} from '@dlr/platform';
import { memoryLogger } from './helpers.js';

const { logger, raw } = memoryLogger('http-test');

describe('createHttpServer', () => {
  it('answers /healthz, and has no /readyz or /metrics (they are on the admin port)', async () => {
    const app = await createHttpServer({ logger });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    await app.close();
  });

  it('maps AppErrors thrown by routes to their status and body', async () => {
    const app = await createHttpServer({ logger });
    const errors: Record<string, AppError> = {
      invalid: new InvalidArgumentError('invalid request', ['to: is required']),
      missing: new NotFoundError('communication c_1 not found'),
      conflict: new FailedPreconditionError('already sent'),
      unauth: new UnauthenticatedError('bad signature'),
      down: new UnavailableError('store unavailable', new Error('ECONNREFUSED 10.0.0.7:27017')),
      big: new AppError('payload_too_large', 'too many recipients'),
    };
    app.get('/fail/:kind', { config: { access: 'public' } }, async (request) => {
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
    const app = await createHttpServer({ logger });
    app.get('/crash', { config: { access: 'public' } }, async () => {
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
    const app = await createHttpServer({ logger, bodyLimit: 64 });
    app.post(
      '/items',
      {
        config: { access: 'public' },
        schema: { body: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
      },
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
  it('answers 405 with Allow for an undeclared method on a declared path, and 404 for an unknown path', async () => {
    const app = await createHttpServer({ logger });
    app.get('/items/:id', { config: { access: 'public' } }, async () => ({ ok: true }));
    app.delete('/items/:id', { config: { access: 'public' } }, async () => ({ ok: true }));
    await app.register(
      async (scope) => {
        scope.post('/things', { config: { access: 'public' } }, async () => ({ ok: true }));
      },
      { prefix: '/v1' },
    );
    const put = await app.inject({ method: 'PUT', url: '/items/42?x=1' });
    expect(put.statusCode).toBe(405);
    expect(put.headers['allow']).toBe('DELETE, GET, HEAD');
    expect(put.json()).toMatchObject({ error: 'method_not_allowed' });
    const get = await app.inject({ method: 'GET', url: '/v1/things' });
    expect([get.statusCode, get.headers['allow']]).toEqual([405, 'POST']);
    expect((await app.inject({ method: 'PATCH', url: '/healthz' })).headers['allow']).toBe('GET, HEAD');
    expect((await app.inject({ method: 'GET', url: '/items/42' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/nothing/here' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/items/42/more' })).statusCode).toBe(404);
    await app.close();
  });
});
