// Operators signing in to reporting with JWTs from an OIDC issuer: a real local issuer (discovery
// document + JWKS over HTTP), keys and JWTs made here with node:crypto, reporting started in-process
// with only OIDC configured (no OPERATOR_TOKEN), real NATS and a MongoDB-compatible server.
import { generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { streamNames } from '@dlr/contracts';
import { connectMongo } from '@dlr/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@dlr/testing';
import {
  AUTH,
  infra,
  publishRecipients,
  rand,
  silentLogger,
  startReporting,
  type ErrorJson,
  type Harness,
  type ListJson,
} from './helpers.js';

interface TestKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: KeyObject;
  readonly jwk: JsonWebKey;
}

function makeKey(kid: string, alg: TestKey['alg']): TestKey {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' },
  };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function signJwt(key: TestKey, claims: Record<string, unknown>): string {
  const input = Buffer.from(`${b64({ typ: 'JWT', alg: key.alg, kid: key.kid })}.${b64(claims)}`);
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', input, key.privateKey);
  return `${input.toString()}.${signature.toString('base64url')}`;
}

const AUDIENCE = 'dlr-reporting';
const rsa = makeKey('rsa-1', 'RS256');
const ec = makeKey('ec-1', 'ES256');
const issuerServer = createServer((request, response) => {
  const body =
    request.url === '/.well-known/openid-configuration'
      ? { issuer: issuerUrl, jwks_uri: `${issuerUrl}/keys` }
      : request.url === '/keys'
        ? { keys: [rsa.jwk, ec.jwk] }
        : undefined;
  response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
});
let issuerUrl = '';
let h: Harness;
const c = `c_oidc${rand(8)}`;

function token(key: TestKey, overrides: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(key, {
    iss: issuerUrl,
    aud: AUDIENCE,
    sub: 'op-reporting-1',
    groups: ['dlr-viewers'],
    iat: now,
    exp: now + 300,
    ...overrides,
  });
}

const recordsPath = () => `/api/v1/communications/${c}/delivery-records`;

async function get(headers: Record<string, string>): Promise<Response> {
  return fetch(`${h.httpUrl}${recordsPath()}`, { headers, redirect: 'manual' });
}

/** Asserts a 401 with our JSON error body (no stack, nothing else) and returns its message. */
async function unauthorized(response: Response): Promise<string> {
  const text = await response.text();
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe('Bearer');
  expect(text).not.toMatch(/stack|\n\s+at |\.ts:\d+/);
  const body = JSON.parse(text) as ErrorJson;
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe('unauthenticated');
  return body.message;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuerUrl = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  h = await startReporting({
    env: { OPERATOR_TOKEN: '', OIDC_ISSUER_URL: issuerUrl, OIDC_AUDIENCE: AUDIENCE },
  });
  await publishRecipients(h, c, [
    { id: `d_oidc${rand(8)}`, channel: 'email', name: 'Person One', address: 'person1@example.test' },
  ]);
});

afterAll(async () => {
  await h?.stop();
  issuerServer.closeAllConnections();
  await new Promise<void>((resolve) => issuerServer.close(() => resolve()));
});

describe('reporting with an OIDC issuer', () => {
  it('serves the delivery records to a valid OIDC bearer token (RS256 and ES256)', async () => {
    for (const key of [rsa, ec]) {
      const body = await eventually(async () => {
        const response = await get({ authorization: `Bearer ${token(key)}` });
        expect(response.status).toBe(200);
        const list = (await response.json()) as ListJson;
        expect(list.total).toBe(1);
        return list;
      }, 30_000);
      expect(body.communicationId).toBe(c);
    }
  });

  it('refuses no token, an expired one, another audience and the static test token, with 401 JSON', async () => {
    expect(await unauthorized(await get({}))).toMatch(/^sign in first/);
    const expired = token(rsa, { exp: Math.floor(Date.now() / 1000) - 3600 });
    expect(await unauthorized(await get({ authorization: `Bearer ${expired}` }))).toBe('the token has expired');
    const otherAudience = token(ec, { aud: 'another-service' });
    expect(await unauthorized(await get({ authorization: `Bearer ${otherAudience}` }))).toBe(
      'the token is for another audience',
    );
    const forged = `${token(rsa).slice(0, -8)}AAAAAAAA`;
    expect(await unauthorized(await get({ authorization: `Bearer ${forged}` }))).toBe(
      'the token signature does not verify',
    );
    // OPERATOR_TOKEN is unset here: the usual test token is just a wrong token.
    expect(await unauthorized(await get(AUTH))).toBe('the token is not valid');
  });

  it('gives a token exactly the role its groups map to, and refuses one whose groups map to none (403)', async () => {
    for (const groups of [[], ['everyone'], 'everyone', undefined]) {
      const response = await get({ authorization: `Bearer ${token(rsa, { groups })}` });
      expect(response.status).toBe(403);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('permission_denied');
      expect(body.message).toMatch(/"groups" claim names no Delivery Reporting role/);
    }
    // A viewer reads the report; a mapped admin group is admin, and also reads (admin ⊇ viewer).
    expect((await get({ authorization: `Bearer ${token(rsa, { groups: ['everyone', 'dlr-viewers'] })}` })).status).toBe(
      200,
    );
    expect((await get({ authorization: `Bearer ${token(ec, { groups: 'dlr-admins' })}` })).status).toBe(200);
  });

  it('signs a browser in through the form with an OIDC token', async () => {
    const signIn = await fetch(`${h.httpUrl}/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: token(ec), next: `/communications/${c}` }).toString(),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe(`/communications/${c}`);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).toMatch(/^dlr_operator=[A-Za-z0-9_-]+\./);
    const response = await get({ cookie });
    expect(response.status).toBe(200);
    expect(((await response.json()) as ListJson).communicationId).toBe(c);
  });

  it('refuses to start with OIDC_ISSUER_URL but no OIDC_AUDIENCE', async () => {
    const ns = `t${rand(12)}`;
    const db = `t_${rand(12)}`;
    try {
      await expect(startReporting({ ns, db, env: { OPERATOR_TOKEN: '', OIDC_ISSUER_URL: issuerUrl } })).rejects.toThrow(
        new Error('OIDC_AUDIENCE is required when OIDC_ISSUER_URL is set'),
      );
    } finally {
      // It got as far as creating its streams and indexes: remove them.
      for (const name of Object.values(streamNames(ns))) await h.nats.jsm.streams.delete(name).catch(() => undefined);
      const mongo = await connectMongo({
        uri: infra().mongoUri,
        dbName: db,
        logger: silentLogger,
        appName: 'oidc-test',
      });
      await mongo.db.dropDatabase();
      await mongo.close();
    }
  });
});
