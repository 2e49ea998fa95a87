// The access check of createHttpServer: declared on the route, checked on the matched route, roles
// ordered viewer < sender < admin, same-origin forms for cookie sessions, security headers, and the
// sign-in form's rate limit.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../src/http.js';
import { createLogger } from '../src/logger.js';
import { OperatorAuth, operatorOf } from '../src/operator-auth.js';

const logger = createLogger('access-test', 'silent');
const TOKENS = {
  viewer: 'viewer-token-0123456789',
  sender: 'sender-token-0123456789',
  admin: 'admin-token-0123456789ab',
};
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function server(): Promise<FastifyInstance> {
  const app = await createHttpServer({ logger, auth: new OperatorAuth({ tokens: TOKENS }) });
  apps.push(app);
  app.get('/open', { config: { access: 'public' } }, async () => ({ ok: true }));
  app.get('/report', { config: { role: 'viewer' } }, async (request) => operatorOf(request));
  app.post('/send', { config: { role: 'sender' } }, async () => ({ sent: true }));
  app.post('/override', { config: { role: 'admin' } }, async () => ({ overridden: true }));
  return app;
}

const bearer = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });

describe('the access check', () => {
  it('refuses at registration a route that declares no access, and a role route without sign-in', async () => {
    const app = await server();
    expect(() => app.get('/forgot', async () => 'x')).toThrow(/declare config.access: 'public' or config.role/);
    expect(() => app.get('/both', { config: { access: 'public', role: 'admin' } }, async () => 'x')).toThrow(
      /either public or needs a role/,
    );
    const plain = await createHttpServer({ logger });
    apps.push(plain);
    expect(() => plain.get('/report', { config: { role: 'viewer' } }, async () => 'x')).toThrow(
      /needs a role but this server has no operator sign-in/,
    );
  });

  it('orders roles viewer < sender < admin; 401 without credentials, 403 below the role, 404 stays 404', async () => {
    const app = await server();
    const call = async (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) =>
      (await app.inject({ method, url, headers })).statusCode;
    expect(await call('GET', '/open')).toBe(200);
    expect(await call('GET', '/report')).toBe(401);
    expect(await call('GET', '/report', bearer('viewer'))).toBe(200);
    expect(await call('POST', '/send', bearer('viewer'))).toBe(403);
    expect(await call('POST', '/send', bearer('sender'))).toBe(200);
    expect(await call('POST', '/override', bearer('sender'))).toBe(403);
    expect(await call('POST', '/override', bearer('admin'))).toBe(200);
    expect(await call('GET', '/report', bearer('admin'))).toBe(200);
    expect(await call('GET', '/nowhere')).toBe(404);
    expect(await call('GET', '/%72eport')).toBe(401); // the router decodes it to /report: still checked
    const denied = await app.inject({ method: 'POST', url: '/override', headers: bearer('viewer') });
    expect(denied.json()).toEqual({
      error: 'permission_denied',
      message: 'this needs the admin role; you are signed in as viewer',
    });
    const me = await app.inject({ method: 'GET', url: '/report', headers: bearer('sender') });
    expect(me.json()).toEqual({ subject: 'sender-token', role: 'sender', via: 'token' });
  });

  it('takes a cookie session only for same-origin forms', async () => {
    const app = await server();
    const signIn = await app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${TOKENS.sender}&next=/report`,
    });
    expect(signIn.statusCode).toBe(303);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const post = async (headers: Record<string, string>) =>
      (await app.inject({ method: 'POST', url: '/send', headers: { cookie, host: 'console.example.org', ...headers } }))
        .statusCode;
    expect(await post({ origin: 'http://console.example.org', 'sec-fetch-site': 'same-origin' })).toBe(200);
    expect(await post({})).toBe(200); // not a browser: no Origin, no Sec-Fetch-Site
    expect(await post({ origin: 'http://links.example.org', 'sec-fetch-site': 'same-site' })).toBe(403);
    expect(await post({ 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await post({ origin: 'https://evil.example' })).toBe(403);
    // A bearer token is not sent by a browser on its own: no origin check.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/send',
          headers: { ...bearer('sender'), origin: 'https://x.example' },
        })
      ).statusCode,
    ).toBe(200);
    // A tampered cookie is no session.
    const forged = await app.inject({ method: 'GET', url: '/report', headers: { cookie: `${cookie.slice(0, -2)}xx` } });
    expect(forged.statusCode).toBe(401);
  });

  it('sets the security headers on every answer, and limits sign-in attempts', async () => {
    const app = await server();
    const open = await app.inject({ method: 'GET', url: '/open' });
    expect(open.headers['content-security-policy']).toContain("script-src 'self'");
    expect(open.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(open.headers['x-content-type-options']).toBe('nosniff');
    const attempts: number[] = [];
    for (let i = 0; i < 22; i += 1) {
      const res = await app.inject({
        method: 'POST',
        url: '/sign-in',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'token=wrong-token-0123456789',
      });
      attempts.push(res.statusCode);
    }
    expect(attempts.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(attempts.slice(20)).toEqual([429, 429]);
  });
});

describe('OIDC roles', () => {
  it('gives a token exactly the role its groups map to, and refuses one that maps to none', async () => {
    // A real issuer: discovery and JWKS served over HTTP, keys made by jose.
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const issuer = createServer((request, response) => {
      const url = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
      const body =
        request.url === '/.well-known/openid-configuration'
          ? { issuer: url, jwks_uri: `${url}/jwks` }
          : request.url === '/jwks'
            ? { keys: [jwk] }
            : undefined;
      response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
    const issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    try {
      const auth = new OperatorAuth({
        oidc: {
          issuerUrl,
          audience: 'dlr',
          rolesClaim: 'roles',
          roleMap: new Map([
            ['ops-send', 'sender'],
            ['ops-read', 'viewer'],
          ]),
        },
      });
      const app = await createHttpServer({ logger, auth });
      apps.push(app);
      app.get('/report', { config: { role: 'viewer' } }, async (request) => operatorOf(request));
      app.post('/send', { config: { role: 'sender' } }, async () => ({ sent: true }));
      app.post('/override', { config: { role: 'admin' } }, async () => ({ overridden: true }));
      const jwt = (roles: unknown) =>
        new SignJWT({ roles })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setIssuer(issuerUrl)
          .setAudience('dlr')
          .setSubject('op-7')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
      const call = async (method: 'GET' | 'POST', url: string, token: string) =>
        app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

      const sender = await jwt(['everyone', 'ops-send']);
      expect((await call('GET', '/report', sender)).json()).toEqual({ subject: 'op-7', role: 'sender', via: 'oidc' });
      expect((await call('POST', '/send', sender)).statusCode).toBe(200);
      expect((await call('POST', '/override', sender)).statusCode).toBe(403);

      const viewer = await jwt('ops-read');
      expect((await call('GET', '/report', viewer)).statusCode).toBe(200);
      expect((await call('POST', '/send', viewer)).statusCode).toBe(403);

      for (const roles of [[], ['everyone'], undefined]) {
        const res = await call('GET', '/report', await jwt(roles));
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ error: 'permission_denied' });
      }
    } finally {
      issuer.closeAllConnections();
      await new Promise<void>((resolve) => issuer.close(() => resolve()));
    }
  });
});
