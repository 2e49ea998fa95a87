// Operator sign-in with OIDC JWTs against a real issuer: a local HTTP server serving a discovery
// document and a JWKS, keys made here with node:crypto, JWTs signed here (no JWT library).
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError, UnauthenticatedError, UnavailableError } from './errors.js';
import { createHttpServer } from './http.js';
import { createLogger } from './logger.js';
import { OPERATOR_COOKIE, OperatorAuth, operatorAuthConfigShape, operatorOf, type Operator } from './operator-auth.js';

// ---- keys and a tiny JWT signer ----

type Alg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

interface TestKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly privateKey: KeyObject;
  /** What the issuer publishes for it. */
  readonly jwk: JsonWebKey;
}

const CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

function makeKey(kid: string, alg: Alg): TestKey {
  const curve = CURVES[alg];
  const pair = curve
    ? generateKeyPairSync('ec', { namedCurve: curve })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT signed with `key` by `key.alg`; `header` may override any header field (`alg` included). */
function signJwt(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64({ typ: 'JWT', alg: key.alg, kid: key.kid, ...header })}.${b64(claims)}`;
  const hash = `sha${key.alg.slice(2)}`;
  const signature = key.alg.startsWith('ES')
    ? sign(hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : key.alg.startsWith('PS')
      ? sign(hash, Buffer.from(input), {
          key: key.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        })
      : sign(hash, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** A JWT "signed" with HMAC-SHA256 under `secret` (the classic confusion attack). */
function hmacJwt(secret: string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64({ typ: 'JWT', alg: 'HS256', ...header })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

// ---- a real issuer ----

interface TestIssuer {
  readonly url: string;
  /** The JWKS it serves (change it to rotate). */
  keys: JsonWebKey[];
  /** Answer every request with this status instead. */
  failWith: number | undefined;
  /** The discovery document it serves. */
  discovery: Record<string, unknown>;
  readonly hits: { discovery: number; jwks: number };
  close(): Promise<void>;
}

async function startIssuer(keys: TestKey[]): Promise<TestIssuer> {
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (issuer.failWith !== undefined) return send(issuer.failWith, { error: 'down' });
    if (request.url === '/.well-known/openid-configuration') {
      issuer.hits.discovery += 1;
      return send(200, issuer.discovery);
    }
    if (request.url === '/jwks') {
      issuer.hits.jwks += 1;
      return send(200, { keys: issuer.keys });
    }
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer: TestIssuer = {
    url,
    keys: keys.map((k) => k.jwk),
    failWith: undefined,
    discovery: { issuer: url, jwks_uri: `${url}/jwks` },
    hits: { discovery: 0, jwks: 0 },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return issuer;
}

/** A URL nothing listens on (a port just released). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

// ---- shared fixtures ----

const AUD = 'dlr-operators';
const SUB = 'op-4f1c9a';
const k1 = makeKey('k1', 'RS256');
const byAlg: TestKey[] = (['RS256', 'RS384', 'PS256', 'PS512', 'ES256', 'ES384', 'ES512'] as const).map((alg) =>
  makeKey(`key-${alg}`, alg),
);
const ed25519 = generateKeyPairSync('ed25519');
const edJwk: JsonWebKey = { ...ed25519.publicKey.export({ format: 'jwk' }), kid: 'ed', use: 'sig' };
let issuer: TestIssuer;
let clock: number;
const now = () => clock;
// jose's JWKS cache reads Date.now: it follows the test clock too.
const REAL_NOW = Date.now.bind(Date);
beforeEach(() => {
  clock = REAL_NOW();
  vi.spyOn(Date, 'now').mockImplementation(() => clock);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The credentials of a request with this Authorization header (none: no header) and no cookie. */
function withHeader(authorization?: string): Pick<FastifyRequest, 'headers' | 'cookies' | 'unsignCookie'> {
  return {
    headers: authorization === undefined ? {} : { authorization },
    cookies: {},
    unsignCookie: () => ({ valid: false, renew: false, value: null }),
  };
}

beforeAll(async () => {
  issuer = await startIssuer([k1, ...byAlg]);
  issuer.keys.push(edJwk);
});
afterAll(async () => {
  await issuer.close();
});

function oidcAuth(options: { issuerUrl?: string; token?: string } = {}): OperatorAuth {
  clock = REAL_NOW();
  return new OperatorAuth({
    tokens: { admin: options.token },
    oidc: { issuerUrl: options.issuerUrl ?? issuer.url, audience: AUD },
    now,
  });
}

/** Good claims at the test clock, with `overrides` (undefined removes a claim). */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(clock / 1000);
  return { iss: issuer.url, aud: AUD, sub: SUB, groups: ['dlr-admins'], iat, exp: iat + 300, ...overrides };
}

/** The message of the UnauthenticatedError `verifyToken` refuses `token` with. */
async function refusal(
  auth: OperatorAuth,
  token: string,
  kind: typeof UnauthenticatedError | typeof UnavailableError = UnauthenticatedError,
): Promise<string> {
  const error: unknown = await auth.verifyToken(token).then(
    (operator) => new Error(`accepted as ${JSON.stringify(operator)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(kind);
  return (error as Error).message;
}

const OIDC_OPERATOR: Operator = { subject: SUB, role: 'admin', via: 'oidc' };

describe('OIDC bearer tokens', () => {
  it('accepts a token with the right issuer, audience and lifetime, signed by a published key', async () => {
    const auth = oidcAuth();
    const token = signJwt(k1, claims());
    await expect(auth.verifyToken(token)).resolves.toEqual(OIDC_OPERATOR);
    await expect(auth.authenticate(withHeader(`Bearer ${token}`))).resolves.toEqual(OIDC_OPERATOR);
    // The same token through the lower-case scheme; and `aud` as a list that includes ours.
    await expect(auth.authenticate(withHeader(`bearer ${token}`))).resolves.toEqual(OIDC_OPERATOR);
    const listed = signJwt(k1, claims({ aud: ['another-api', AUD] }));
    await expect(auth.verifyToken(listed)).resolves.toEqual(OIDC_OPERATOR);
    // An issuer written with a trailing slash (config or token) is the same issuer.
    const slashed = signJwt(k1, claims({ iss: `${issuer.url}/` }));
    await expect(auth.verifyToken(slashed)).resolves.toEqual(OIDC_OPERATOR);
    await expect(oidcAuth({ issuerUrl: `${issuer.url}/` }).verifyToken(token)).resolves.toEqual(OIDC_OPERATOR);
  });

  it.each(byAlg.map((key) => [key.alg, key] as const))('accepts %s', async (_alg, key) => {
    const auth = oidcAuth();
    await expect(auth.verifyToken(signJwt(key, claims()))).resolves.toEqual(OIDC_OPERATOR);
  });

  it('still accepts the static OPERATOR_TOKEN next to OIDC', async () => {
    const auth = oidcAuth({ token: 'static-operator-token-0123456789' });
    await expect(auth.verifyToken('static-operator-token-0123456789')).resolves.toEqual({
      subject: 'admin-token',
      role: 'admin',
      via: 'token',
    });
    await expect(auth.verifyToken(signJwt(k1, claims()))).resolves.toEqual(OIDC_OPERATOR);
  });

  it('honours exp with the 60 s clock-skew allowance, on the injected clock', async () => {
    const auth = oidcAuth();
    const token = signJwt(k1, claims());
    const exp = (claims()['exp'] as number) * 1000;
    await expect(auth.verifyToken(token)).resolves.toEqual(OIDC_OPERATOR);
    clock = exp + 59_000; // past exp, within the skew
    await expect(auth.verifyToken(token)).resolves.toEqual(OIDC_OPERATOR);
    clock = exp + 61_000;
    expect(await refusal(auth, token)).toBe('the token has expired');
  });

  describe('refuses', () => {
    const other = makeKey('k1', 'RS256'); // same kid as the published k1, another key
    const cases: [string, () => string, string][] = [
      ['another audience', () => signJwt(k1, claims({ aud: 'some-other-api' })), 'the token is for another audience'],
      [
        'an audience list without ours',
        () => signJwt(k1, claims({ aud: ['a', 'b'] })),
        'the token is for another audience',
      ],
      ['no audience', () => signJwt(k1, claims({ aud: undefined })), 'the token is for another audience'],
      [
        'another issuer',
        () => signJwt(k1, claims({ iss: 'https://idp.example.test' })),
        'the token is from another issuer',
      ],
      [
        'an issuer URL that only starts like ours',
        () => signJwt(k1, claims({ iss: `${issuer.url}/evil` })),
        'the token is from another issuer',
      ],
      ['no issuer', () => signJwt(k1, claims({ iss: undefined })), 'the token is from another issuer'],
      ['an expired token', () => signJwt(k1, claims({ exp: Math.floor(clock / 1000) - 61 })), 'the token has expired'],
      ['a token without exp', () => signJwt(k1, claims({ exp: undefined })), 'the token has expired'],
      [
        'a string exp',
        () => signJwt(k1, claims({ exp: String(Math.floor(clock / 1000) + 300) })),
        'the token has expired',
      ],
      [
        'a token not valid yet (nbf)',
        () => signJwt(k1, claims({ nbf: Math.floor(clock / 1000) + 120 })),
        'the token is not valid yet',
      ],
      ['a token without sub', () => signJwt(k1, claims({ sub: undefined })), 'the token names no subject'],
      ['an empty sub', () => signJwt(k1, claims({ sub: '' })), 'the token names no subject'],
      [
        'a token signed by another key with the same kid',
        () => signJwt(other, claims()),
        'the token signature does not verify',
      ],
      [
        'a token whose claims were changed after signing',
        () => {
          const [h, , s] = signJwt(k1, claims()).split('.');
          return `${h}.${b64(claims({ sub: 'op-admin' }))}.${s}`;
        },
        'the token signature does not verify',
      ],
      [
        'an unknown kid',
        () => signJwt(makeKey('nobody-publishes-this', 'RS256'), claims()),
        'the token is signed with a key the issuer does not publish',
      ],
      [
        'alg none with no signature',
        () => `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims())}.`,
        'the token is not a JWT this service accepts',
      ],
      [
        'alg none with a signature',
        () => `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims())}.AAAA`,
        'the token is not a JWT this service accepts',
      ],
      [
        'HS256 keyed with the issuer’s public key (PEM)',
        () =>
          hmacJwt(
            createPublicKey(k1.privateKey).export({ type: 'spki', format: 'pem' }).toString(),
            { kid: 'k1' },
            claims(),
          ),
        'the token is not a JWT this service accepts',
      ],
      [
        'HS256 keyed with the issuer’s published JWK',
        () => hmacJwt(JSON.stringify(k1.jwk), { kid: 'k1' }, claims()),
        'the token is not a JWT this service accepts',
      ],
      [
        // Before the fix, JWT_ALGS['constructor'] found Object and verify ran with no digest.
        'an alg naming an Object member (constructor), correctly signed',
        () => signJwt(k1, claims(), { alg: 'constructor' }),
        'the token is not a JWT this service accepts',
      ],
      [
        'alg __proto__',
        () => signJwt(k1, claims(), { alg: '__proto__' }),
        'the token is not a JWT this service accepts',
      ],
      [
        'ES256 in the header over an RSA key (signed RS256 with it)',
        () => signJwt(k1, claims(), { alg: 'ES256' }),
        'the token is signed with a key the issuer does not publish',
      ],
      [
        'ES384 in the header over a P-256 key',
        () =>
          signJwt(
            byAlg.find((k) => k.alg === 'ES256')!,
            claims(),
            { alg: 'ES384' },
          ),
        'the token is signed with a key the issuer does not publish',
      ],
      [
        // Before the fix node's verify threw on the Ed25519 key: a 500 instead of a 401.
        'RS256 naming the issuer’s Ed25519 key',
        () => signJwt(k1, claims(), { kid: 'ed' }),
        'the token is signed with a key the issuer does not publish',
      ],
      [
        'a header that is not JSON',
        () => `${Buffer.from('{alg:').toString('base64url')}.${b64(claims())}.AAAA`,
        'the token is not a JWT this service accepts',
      ],
      [
        'claims that are not JSON',
        () => `${b64({ alg: 'RS256', kid: 'k1' })}.bm90IGpzb24.AAAA`,
        'the token signature does not verify',
      ],
      ['three empty parts', () => '..', 'the token is not a JWT this service accepts'],
      [
        // Node's decoder skips the '!': before the fix this second spelling of the token verified.
        'a valid token with a stray character in its signature',
        () => {
          const token = signJwt(k1, claims());
          return `${token.slice(0, -4)}!${token.slice(-4)}`;
        },
        'the token is not a JWT this service accepts',
      ],
      ['a token of two parts', () => 'abc.def', 'the token is not valid'],
      ['a token of four parts', () => `${signJwt(k1, claims())}.AAAA`, 'the token is not valid'],
      ['a random string', () => randomBytes(24).toString('hex'), 'the token is not valid'],
    ];

    it.each(cases)('%s', async (_name, token, message) => {
      const auth = oidcAuth();
      expect(await refusal(auth, token())).toBe(message);
      // The same service accepts a good token: the refusal is about that one defect.
      await expect(auth.verifyToken(signJwt(k1, claims()))).resolves.toEqual(OIDC_OPERATOR);
    });

    it('a token really issued by another issuer (its own key, same kid or another)', async () => {
      const theirK1 = makeKey('k1', 'RS256');
      const theirK2 = makeKey('elsewhere-2', 'ES256');
      const elsewhere = await startIssuer([theirK1, theirK2]);
      try {
        const auth = oidcAuth();
        const sameKid = signJwt(theirK1, claims({ iss: elsewhere.url }));
        const otherKid = signJwt(theirK2, claims({ iss: elsewhere.url }));
        expect(await refusal(auth, sameKid)).toBe('the token signature does not verify');
        expect(await refusal(auth, otherKid)).toBe('the token is signed with a key the issuer does not publish');
        // The other issuer's relying parties take them: the tokens themselves are good.
        const theirs = new OperatorAuth({ oidc: { issuerUrl: elsewhere.url, audience: AUD }, now });
        await expect(theirs.verifyToken(sameKid)).resolves.toEqual(OIDC_OPERATOR);
        await expect(theirs.verifyToken(otherKid)).resolves.toEqual(OIDC_OPERATOR);
      } finally {
        await elsewhere.close();
      }
    });

    it('a malformed Authorization header', async () => {
      const auth = oidcAuth();
      for (const authorization of [
        'Basic dXNlcjpwYXNz',
        'Bearer',
        'Bearer two words',
        `Token ${signJwt(k1, claims())}`,
      ]) {
        await expect(auth.authenticate(withHeader(authorization))).rejects.toThrow(
          new UnauthenticatedError('Authorization must be "Bearer <token>"'),
        );
      }
      await expect(auth.authenticate(withHeader())).rejects.toThrow(/^sign in first/);
    });
  });
});

describe('key rotation', () => {
  it('takes a new kid after refreshing the JWKS, refreshing at most once per 30 s; drops retired keys after 10 min', async () => {
    const before = makeKey('2024-a', 'RS256');
    const after = makeKey('2025-b', 'ES256');
    const rotating = await startIssuer([before]);
    try {
      clock = REAL_NOW();
      const auth = new OperatorAuth({ oidc: { issuerUrl: rotating.url, audience: AUD }, now });
      const token = (key: TestKey, header: Record<string, unknown> = {}) =>
        signJwt(key, claims({ iss: rotating.url }), header);
      // Ten requests at once on a cold cache: one discovery, one JWKS fetch.
      const first = await Promise.all(Array.from({ length: 10 }, () => auth.verifyToken(token(before))));
      expect(first).toEqual(Array.from({ length: 10 }, () => OIDC_OPERATOR));
      expect(rotating.hits).toEqual({ discovery: 1, jwks: 1 });

      rotating.keys = [before.jwk, after.jwk];
      clock += 10_000;
      // 10 s after the fetch: the unknown kid is refused without asking the issuer (nor do 20 made-up kids).
      expect(await refusal(auth, token(after))).toBe('the token is signed with a key the issuer does not publish');
      for (let i = 0; i < 20; i += 1) await refusal(auth, token(before, { kid: `made-up-${i}` }));
      expect(rotating.hits.jwks).toBe(1);

      clock += 21_000; // 31 s after the fetch
      await expect(auth.verifyToken(token(after))).resolves.toEqual(OIDC_OPERATOR);
      expect(rotating.hits.jwks).toBe(2);
      await expect(auth.verifyToken(token(before))).resolves.toEqual(OIDC_OPERATOR);
      await expect(auth.verifyToken(token(after))).resolves.toEqual(OIDC_OPERATOR);
      expect(rotating.hits.jwks).toBe(2);

      // The old key is retired: still trusted from the cache until the JWKS is 10 minutes old.
      rotating.keys = [after.jwk];
      await expect(auth.verifyToken(token(before))).resolves.toEqual(OIDC_OPERATOR);
      clock += 10 * 60_000 + 1;
      expect(await refusal(auth, token(before))).toBe('the token is signed with a key the issuer does not publish');
      await expect(auth.verifyToken(token(after))).resolves.toEqual(OIDC_OPERATOR);
      expect(rotating.hits.jwks).toBe(3);
    } finally {
      await rotating.close();
    }
  });
});

describe('an issuer that cannot be reached', () => {
  const STATIC = 'static-operator-token-0123456789';

  it('refuses OIDC tokens with a clear message, and still takes the static token', async () => {
    const url = await deadUrl();
    clock = REAL_NOW();
    const auth = new OperatorAuth({ tokens: { admin: STATIC }, oidc: { issuerUrl: url, audience: AUD }, now });
    expect(await refusal(auth, signJwt(k1, claims({ iss: url })), UnavailableError)).toMatch(
      /^the OIDC issuer's keys could not be fetched: \S.*; try again shortly$/,
    );
    await expect(auth.verifyToken(STATIC)).resolves.toEqual({ subject: 'admin-token', role: 'admin', via: 'token' });
  });

  it('says what went wrong with a failing issuer, and does not remember the failure', async () => {
    const flaky = await startIssuer([k1]);
    try {
      clock = REAL_NOW();
      const auth = new OperatorAuth({ oidc: { issuerUrl: flaky.url, audience: AUD }, now });
      const token = signJwt(k1, claims({ iss: flaky.url }));
      const prefix = "the OIDC issuer's keys could not be fetched: ";
      const suffix = '; try again shortly';
      const down = () => refusal(auth, token, UnavailableError);
      flaky.failWith = 500;
      expect(await down()).toBe(`${prefix}${flaky.url}/.well-known/openid-configuration answered 500${suffix}`);
      flaky.failWith = undefined;
      flaky.discovery = { issuer: 'https://issuer.example', jwks_uri: `${flaky.url}/jwks` };
      expect(await down()).toBe(`${prefix}the discovery document names another issuer${suffix}`);
      flaky.discovery = { issuer: flaky.url };
      expect(await down()).toBe(`${prefix}the discovery document names no jwks_uri${suffix}`);
      flaky.discovery = { issuer: flaky.url, jwks_uri: `${flaky.url}/nowhere` };
      // jose's own words for a JWKS URL that does not answer 200.
      expect(await down()).toBe(`${prefix}Expected 200 OK from the JSON Web Key Set HTTP response${suffix}`);
      flaky.discovery = { issuer: flaky.url, jwks_uri: `${flaky.url}/jwks` };
      await expect(auth.verifyToken(token)).resolves.toEqual(OIDC_OPERATOR);
    } finally {
      await flaky.close();
    }
  });

  it('keeps using the keys it has for 10 minutes when the issuer goes down, then says it cannot check', async () => {
    const fading = await startIssuer([k1]);
    try {
      clock = REAL_NOW();
      const auth = new OperatorAuth({ oidc: { issuerUrl: fading.url, audience: AUD }, now });
      await expect(auth.verifyToken(signJwt(k1, claims({ iss: fading.url })))).resolves.toEqual(OIDC_OPERATOR);
      fading.failWith = 503;
      clock += 9 * 60_000; // the JWKS is still fresh: no fetch
      await expect(auth.verifyToken(signJwt(k1, claims({ iss: fading.url })))).resolves.toEqual(OIDC_OPERATOR);
      clock += 2 * 60_000; // stale: jose refetches, the issuer is down, the token cannot be judged
      expect(await refusal(auth, signJwt(k1, claims({ iss: fading.url })), UnavailableError)).toMatch(
        /^the OIDC issuer's keys could not be fetched: .*; try again shortly$/,
      );
    } finally {
      await fading.close();
    }
  });
});

describe('over HTTP', () => {
  const servers: FastifyInstance[] = [];
  afterEach(async () => {
    for (const app of servers.splice(0)) await app.close();
  });

  /** A platform HTTP server protected by `auth`, with `GET /api/v1/whoami`; its base URL. */
  async function serve(auth: OperatorAuth): Promise<string> {
    const app = await createHttpServer({ logger: createLogger('operator-auth-test', 'silent'), auth });
    servers.push(app);
    app.get('/api/v1/whoami', { config: { role: 'viewer' } }, async (request) => operatorOf(request));
    await app.listen({ host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  async function expect401(base: string, authorization: string, message: string | RegExp): Promise<void> {
    const response = await fetch(`${base}/api/v1/whoami`, { headers: { authorization } });
    const text = await response.text();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(text).not.toMatch(/stack|\n\s+at |\.ts:\d+/);
    const body = JSON.parse(text) as { error: string; message: string };
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(body.error).toBe('unauthenticated');
    expect(body.message).toMatch(message);
  }

  it('answers a verified token with the operator, and each refusal with a 401 JSON body without a stack', async () => {
    clock = REAL_NOW();
    const base = await serve(new OperatorAuth({ oidc: { issuerUrl: issuer.url, audience: AUD }, now }));
    const ok = await fetch(`${base}/api/v1/whoami`, { headers: { authorization: `Bearer ${signJwt(k1, claims())}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual(OIDC_OPERATOR);
    const expired = signJwt(k1, claims({ exp: Math.floor(clock / 1000) - 3600 }));
    await expect401(base, `Bearer ${expired}`, 'the token has expired');
    await expect401(base, `Bearer ${signJwt(k1, claims({ aud: 'x' }))}`, 'the token is for another audience');
    // This one was a 500 before the fix (node's verify threw on the Ed25519 key).
    await expect401(
      base,
      `Bearer ${signJwt(k1, claims(), { kid: 'ed' })}`,
      'the token is signed with a key the issuer does not publish',
    );
    await expect401(
      base,
      `Bearer ${b64({ alg: 'none' })}.${b64(claims())}.`,
      'the token is not a JWT this service accepts',
    );
    const missing = await fetch(`${base}/api/v1/whoami`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { message: string }).message).toMatch(/^sign in first/);
  });

  it('answers 503 with a clear message while the issuer is unreachable (the token may be fine), and keeps serving', async () => {
    const url = await deadUrl();
    clock = REAL_NOW();
    const base = await serve(new OperatorAuth({ oidc: { issuerUrl: url, audience: AUD }, now }));
    const token = signJwt(k1, claims({ iss: url }));
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`${base}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(503);
      expect(response.headers.get('www-authenticate')).toBeNull();
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('unavailable');
      expect(body.message).toMatch(/^the OIDC issuer's keys could not be fetched: .*; try again shortly$/);
    }
    const form = await fetch(`${base}/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, next: '/' }).toString(),
      redirect: 'manual',
    });
    expect(form.status).toBe(503);
    expect(await form.text()).toMatch(/try again shortly/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('signs in through the form with an OIDC token; the session ends when the token does', async () => {
    clock = REAL_NOW();
    const base = await serve(new OperatorAuth({ oidc: { issuerUrl: issuer.url, audience: AUD }, now }));
    const token = signJwt(k1, claims());
    const signIn = (value: string) =>
      fetch(`${base}/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: value, next: '/api/v1/whoami' }).toString(),
        redirect: 'manual',
      });
    const response = await signIn(token);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/api/v1/whoami');
    const cookie = /^(dlr_operator=[^;]+);/.exec(response.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toMatch(new RegExp(`^${OPERATOR_COOKIE}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_+/-]+`));
    const me = await fetch(`${base}/api/v1/whoami`, { headers: { cookie: cookie! } });
    expect(await me.json()).toEqual({ subject: SUB, role: 'admin', via: 'session' });
    const exp = (claims()['exp'] as number) * 1000;
    // Just past exp, within the 60 s skew, the token still signs in and its session works (before the
    // fix that session cookie was born expired: a sign-in that bounced back to the form).
    clock = exp + 30_000;
    const late = await signIn(token);
    expect(late.status).toBe(303);
    const lateCookie = /^(dlr_operator=[^;]+);/.exec(late.headers.get('set-cookie') ?? '')?.[1];
    const lateMe = await fetch(`${base}/api/v1/whoami`, { headers: { cookie: lateCookie! } });
    expect(await lateMe.json()).toEqual({ subject: SUB, role: 'admin', via: 'session' });
    // Once the token is no longer accepted, neither is any session it opened (well within 12 h).
    clock = exp + 60_001;
    for (const c of [cookie!, lateCookie!]) {
      const later = await fetch(`${base}/api/v1/whoami`, { headers: { cookie: c } });
      expect(later.status).toBe(401);
      expect(((await later.json()) as { message: string }).message).toBe(
        'your session has expired or is not valid; sign in again',
      );
    }
    const refused = await signIn(token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await refused.text()).toContain('the token has expired');
  });
});

describe('configuration', () => {
  it('refuses OIDC_ISSUER_URL without OIDC_AUDIENCE', () => {
    const config = loadConfig(operatorAuthConfigShape, { OIDC_ISSUER_URL: 'https://idp.example.test/realms/ops' });
    expect(() => OperatorAuth.fromConfig(config)).toThrow(
      new Error('OIDC_AUDIENCE is required when OIDC_ISSUER_URL is set'),
    );
  });

  it('refuses an issuer URL that is not http(s)', () => {
    expect(() =>
      loadConfig(operatorAuthConfigShape, { OIDC_ISSUER_URL: 'ftp://idp.example.test', OIDC_AUDIENCE: AUD }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig(operatorAuthConfigShape, { OIDC_ISSUER_URL: 'ftp://idp.example.test', OIDC_AUDIENCE: AUD }),
    ).toThrow(/OIDC_ISSUER_URL/);
  });

  it('with both set, verifies tokens against the issuer (node fetch, real clock)', async () => {
    const auth = OperatorAuth.fromConfig(
      loadConfig(operatorAuthConfigShape, { OIDC_ISSUER_URL: issuer.url, OIDC_AUDIENCE: AUD }),
    );
    expect(auth.configured).toBe(true);
    clock = REAL_NOW();
    await expect(auth.verifyToken(signJwt(k1, claims()))).resolves.toEqual(OIDC_OPERATOR);
    await expect(auth.verifyToken('static-operator-token-0123456789')).rejects.toThrow('the token is not valid');
  });

  it('with nothing configured, refuses every token and says why', async () => {
    const auth = OperatorAuth.fromConfig(loadConfig(operatorAuthConfigShape, {}));
    expect(auth.configured).toBe(false);
    clock = REAL_NOW();
    await expect(auth.authenticate(withHeader(`Bearer ${signJwt(k1, claims())}`))).rejects.toThrow(
      'operator sign-in is not configured (set OPERATOR_ADMIN_TOKEN or another OPERATOR_*_TOKEN, or OIDC_ISSUER_URL)',
    );
  });
});
