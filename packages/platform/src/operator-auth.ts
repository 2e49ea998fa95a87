// Operator sign-in for the pages and APIs operators use (reports, console). Recipients' pages never
// use this. Accepts `Authorization: Bearer <token>` or a session cookie set by a small sign-in form;
// a token is the static OPERATOR_TOKEN or, when an OIDC issuer is configured, a JWT signed by one of
// the issuer's JWKS keys (verified with node:crypto, no extra dependency).
import {
  createHash,
  createHmac,
  createPublicKey,
  randomBytes,
  timingSafeEqual,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { flag } from './config.js';
import { UnauthenticatedError, UnavailableError } from './errors.js';

/** Configuration variables of operator sign-in; spread into a service's `configShape`. */
export const operatorAuthConfigShape = {
  /** Static operator token (local use, CI); at least 16 characters. Unset: tokens are refused. */
  OPERATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Key that signs session cookies (share it between replicas); defaults to one derived from OPERATOR_TOKEN. */
  OPERATOR_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a sign-in lasts. */
  OPERATOR_SESSION_HOURS: z.coerce.number().int().min(1).max(168).default(12),
  /** Mark the session cookie `Secure` (set it when served over HTTPS). */
  OPERATOR_COOKIE_SECURE: flag(false),
  /** OIDC issuer whose JWTs are accepted as bearer tokens (its discovery document names the JWKS). */
  OIDC_ISSUER_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The `aud` a JWT must carry; required with OIDC_ISSUER_URL. */
  OIDC_AUDIENCE: z.string().min(1).optional(),
};

/** The part of a service's config operator sign-in reads. */
export type OperatorAuthConfig = Readonly<z.output<z.ZodObject<typeof operatorAuthConfigShape>>>;

/** Who is signed in. */
export interface Operator {
  /** `operator` for the static token, else the JWT's `sub`. Not personal data by itself; log it as an ID. */
  readonly subject: string;
  readonly via: 'token' | 'oidc' | 'session';
}

/** Options of {@link OperatorAuth}. */
export interface OperatorAuthOptions {
  token?: string | undefined;
  sessionSecret?: string | undefined;
  sessionTtlMs?: number;
  secureCookie?: boolean;
  oidc?: { issuerUrl: string; audience: string } | undefined;
  /** For tests: the HTTP client used for OIDC discovery and JWKS, and the clock. */
  fetch?: typeof fetch;
  now?: () => number;
}

/** Name of the session cookie. */
export const OPERATOR_COOKIE = 'dlr_operator';
/** Where the sign-in form lives. */
export const SIGN_IN_PATH = '/sign-in';
/** POST here to sign out. */
export const SIGN_OUT_PATH = '/sign-out';

const ALWAYS_PUBLIC = new Set(['/healthz', '/readyz', SIGN_IN_PATH]);
const CLOCK_SKEW_MS = 60_000;
const JWKS_TTL_MS = 10 * 60_000;
const JWKS_MIN_REFRESH_MS = 30_000;
// Each algorithm names the key it needs (RFC 7518 §3.1): a JWT's `alg` must fit the key its `kid`
// names, so a key published for one algorithm is never used with another (an Ed25519 or X25519 key
// would also make node's verify throw).
const JWT_ALGS: Record<string, { hash: string; ec?: string; pss?: true }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
  ES256: { hash: 'sha256', ec: 'prime256v1' },
  ES384: { hash: 'sha384', ec: 'secp384r1' },
  ES512: { hash: 'sha512', ec: 'secp521r1' },
};
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const operators = new WeakMap<FastifyRequest, Operator>();

/** The operator a protected request was authenticated as (undefined on public routes). */
export function operatorOf(request: FastifyRequest): Operator | undefined {
  return operators.get(request);
}

function b64urlJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether two secrets are equal, in constant time whatever their lengths. */
export function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The token of an `Authorization: Bearer <token>` value (printable ASCII, up to 8 KiB); undefined otherwise. */
export function bearerToken(value: string): string | undefined {
  return /^Bearer ([\x21-\x7e]{1,8192})$/i.exec(value.trim())?.[1];
}

/** Reads one cookie from a Cookie header; undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A relative path to return to after sign-in; anything else (other hosts, `//x`) becomes `/`. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 2048 ? value : '/';
}

interface Jwks {
  keys: Map<string, KeyObject>;
  anonymous: KeyObject[];
  fetchedAt: number;
}

/**
 * Operator authentication: verify a bearer token or a session cookie, protect routes, serve the
 * sign-in form. Fails closed: with neither a static token nor an OIDC issuer configured, every
 * protected request is refused with a message saying so.
 */
export class OperatorAuth {
  readonly #token: string | undefined;
  readonly #sessionKey: Buffer;
  readonly #sessionTtlMs: number;
  readonly #secure: boolean;
  readonly #oidc: { issuerUrl: string; audience: string } | undefined;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #jwks: Jwks | undefined;
  #jwksLoading: Promise<Jwks> | undefined;

  constructor(options: OperatorAuthOptions) {
    this.#token = options.token;
    this.#sessionKey = options.sessionSecret
      ? createHash('sha256').update(`dlr-session:${options.sessionSecret}`).digest()
      : options.token
        ? createHmac('sha256', options.token).update('dlr operator session v1').digest()
        : randomBytes(32); // OIDC only, no secret: sessions last as long as this process.
    this.#sessionTtlMs = options.sessionTtlMs ?? 12 * 3_600_000;
    this.#secure = options.secureCookie ?? false;
    this.#oidc = options.oidc ? { ...options.oidc, issuerUrl: options.oidc.issuerUrl.replace(/\/+$/, '') } : undefined;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  /** Builds it from a service's config. Throws an Error when OIDC_ISSUER_URL is set without OIDC_AUDIENCE. */
  static fromConfig(config: OperatorAuthConfig): OperatorAuth {
    if (config.OIDC_ISSUER_URL && !config.OIDC_AUDIENCE) {
      throw new Error('OIDC_AUDIENCE is required when OIDC_ISSUER_URL is set');
    }
    return new OperatorAuth({
      token: config.OPERATOR_TOKEN,
      sessionSecret: config.OPERATOR_SESSION_SECRET,
      sessionTtlMs: config.OPERATOR_SESSION_HOURS * 3_600_000,
      secureCookie: config.OPERATOR_COOKIE_SECURE,
      oidc:
        config.OIDC_ISSUER_URL && config.OIDC_AUDIENCE
          ? { issuerUrl: config.OIDC_ISSUER_URL, audience: config.OIDC_AUDIENCE }
          : undefined,
    });
  }

  /** True when some way of signing in is configured. */
  get configured(): boolean {
    return this.#token !== undefined || this.#oidc !== undefined;
  }

  /**
   * Who sent these headers: a bearer token (static or OIDC JWT) or a session cookie. Throws an
   * {@link UnauthenticatedError} (message safe to show) when neither verifies.
   */
  async authenticate(headers: { authorization?: string | undefined; cookie?: string | undefined }): Promise<Operator> {
    if (!this.configured) {
      throw new UnauthenticatedError('operator sign-in is not configured (set OPERATOR_TOKEN or OIDC_ISSUER_URL)');
    }
    const auth = headers.authorization;
    if (auth !== undefined) {
      const token = bearerToken(auth);
      if (token === undefined) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
      return this.verifyToken(token);
    }
    const cookie = readCookie(headers.cookie, OPERATOR_COOKIE);
    if (cookie !== undefined) {
      const session = this.#verifySession(cookie);
      if (session) return session;
      throw new UnauthenticatedError('your session has expired or is not valid; sign in again');
    }
    throw new UnauthenticatedError('sign in first: send "Authorization: Bearer <token>" or use the sign-in page');
  }

  /** Verifies a token: the static one, or an OIDC JWT. Throws an {@link UnauthenticatedError}. */
  async verifyToken(token: string): Promise<Operator> {
    if (this.#token !== undefined && sameSecret(token, this.#token)) return { subject: 'operator', via: 'token' };
    if (this.#oidc && token.split('.').length === 3) {
      const claims = await this.#verifyJwt(token);
      return { subject: claims.sub, via: 'oidc' };
    }
    throw new UnauthenticatedError('the token is not valid');
  }

  /** A session cookie value for an operator, valid for the session lifetime (or until `notAfter`). */
  sessionFor(operator: Operator, notAfter?: number): string {
    const exp = Math.min(this.#now() + this.#sessionTtlMs, notAfter ?? Number.POSITIVE_INFINITY);
    const payload = Buffer.from(JSON.stringify({ sub: operator.subject, exp })).toString('base64url');
    const mac = createHmac('sha256', this.#sessionKey).update(`v1.${payload}`).digest('base64url');
    return `v1.${payload}.${mac}`;
  }

  #verifySession(value: string): Operator | undefined {
    const [version, payload, mac] = value.split('.');
    if (version !== 'v1' || !payload || !mac || value.split('.').length !== 3) return undefined;
    const expected = createHmac('sha256', this.#sessionKey).update(`v1.${payload}`).digest('base64url');
    if (!sameSecret(mac, expected)) return undefined;
    const body = b64urlJson(payload) as { sub?: unknown; exp?: unknown } | undefined;
    if (typeof body?.sub !== 'string' || typeof body.exp !== 'number' || body.exp <= this.#now()) return undefined;
    return { subject: body.sub, via: 'session' };
  }

  async #verifyJwt(token: string): Promise<{ sub: string; exp: number }> {
    const oidc = this.#oidc;
    if (!oidc) throw new UnauthenticatedError('the token is not valid');
    const [h, p, s] = token.split('.') as [string, string, string];
    // Node's base64url decoder skips stray characters: refuse them, or one token has many spellings.
    if (![h, p, s].every((part) => BASE64URL.test(part))) {
      throw new UnauthenticatedError('the token is not a JWT this service accepts');
    }
    const header = b64urlJson(h) as { alg?: unknown; kid?: unknown } | undefined;
    const claims = b64urlJson(p) as Record<string, unknown> | undefined;
    // Own keys only: `constructor` or `__proto__` must not find Object's members (verify would then
    // run with no digest, i.e. the key type's default).
    const alg =
      typeof header?.alg === 'string' && Object.hasOwn(JWT_ALGS, header.alg) ? JWT_ALGS[header.alg] : undefined;
    if (!header || !claims || !alg) throw new UnauthenticatedError('the token is not a JWT this service accepts');
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const key = await this.#key(kid);
    const fits = alg.ec
      ? key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === alg.ec
      : key.asymmetricKeyType === 'rsa';
    if (!fits) throw new UnauthenticatedError("the token's algorithm does not fit the issuer's key");
    let ok = false;
    try {
      ok = verify(
        alg.hash,
        Buffer.from(`${h}.${p}`),
        alg.ec
          ? { key, dsaEncoding: 'ieee-p1363' }
          : alg.pss
            ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 }
            : key,
        Buffer.from(s, 'base64url'),
      );
    } catch {
      // A signature node cannot even parse is just a bad signature.
    }
    if (!ok) throw new UnauthenticatedError('the token signature does not verify');
    const now = this.#now();
    const aud = claims['aud'];
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (claims['iss'] !== oidc.issuerUrl && claims['iss'] !== `${oidc.issuerUrl}/`) {
      throw new UnauthenticatedError('the token is from another issuer');
    }
    if (!audiences.includes(oidc.audience)) throw new UnauthenticatedError('the token is for another audience');
    const exp = claims['exp'];
    const nbf = claims['nbf'];
    const sub = claims['sub'];
    if (typeof exp !== 'number' || exp * 1000 + CLOCK_SKEW_MS < now)
      throw new UnauthenticatedError('the token has expired');
    if (typeof nbf === 'number' && nbf * 1000 - CLOCK_SKEW_MS > now)
      throw new UnauthenticatedError('the token is not valid yet');
    if (typeof sub !== 'string' || sub === '') throw new UnauthenticatedError('the token names no subject');
    return { sub, exp: exp * 1000 };
  }

  async #key(kid: string | undefined): Promise<KeyObject> {
    const find = (jwks: Jwks) =>
      kid === undefined ? (jwks.anonymous[0] ?? [...jwks.keys.values()][0]) : jwks.keys.get(kid);
    const now = this.#now();
    let jwks = this.#jwks && now - this.#jwks.fetchedAt < JWKS_TTL_MS ? this.#jwks : await this.#loadJwks();
    let key = find(jwks);
    // An unknown kid may be a rotated key: fetch again, but not more than twice a minute.
    if (!key && now - jwks.fetchedAt > JWKS_MIN_REFRESH_MS) {
      jwks = await this.#loadJwks();
      key = find(jwks);
    }
    if (!key) throw new UnauthenticatedError('the token is signed with a key the issuer does not publish');
    return key;
  }

  #loadJwks(): Promise<Jwks> {
    this.#jwksLoading ??= this.#fetchJwks().finally(() => {
      this.#jwksLoading = undefined;
    });
    return this.#jwksLoading;
  }

  async #fetchJwks(): Promise<Jwks> {
    const oidc = this.#oidc!;
    const getJson = async (url: string): Promise<unknown> => {
      const response = await this.#fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      return response.json();
    };
    try {
      const discovery = (await getJson(`${oidc.issuerUrl}/.well-known/openid-configuration`)) as {
        issuer?: unknown;
        jwks_uri?: unknown;
      };
      // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
      if (typeof discovery.issuer !== 'string' || discovery.issuer.replace(/\/+$/, '') !== oidc.issuerUrl) {
        throw new Error('the discovery document names another issuer');
      }
      if (typeof discovery.jwks_uri !== 'string') throw new Error('the discovery document names no jwks_uri');
      const body = (await getJson(discovery.jwks_uri)) as { keys?: unknown };
      const jwks: Jwks = { keys: new Map(), anonymous: [], fetchedAt: this.#now() };
      for (const jwk of Array.isArray(body.keys) ? (body.keys as Record<string, unknown>[]) : []) {
        if (jwk['use'] !== undefined && jwk['use'] !== 'sig') continue;
        try {
          const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
          if (typeof jwk['kid'] === 'string') jwks.keys.set(jwk['kid'], key);
          else jwks.anonymous.push(key);
        } catch {
          // A key type node cannot read is skipped; the others still work.
        }
      }
      this.#jwks = jwks;
      return jwks;
    } catch (error) {
      if (this.#jwks) return this.#jwks; // keep using the keys we had
      // Not the token's fault: the operator should retry, not sign in again (503, not 401).
      throw new UnavailableError(
        `the OIDC issuer's keys could not be fetched: ${error instanceof Error ? error.message : String(error)}; try again shortly`,
      );
    }
  }

  /**
   * An `onRequest`/`preHandler` hook that lets a request through only when it is authenticated. A
   * browser GET of a page (not `/api/…`) is sent to the sign-in form; anything else gets 401 JSON
   * (503 while the OIDC issuer's keys cannot be fetched: the token may be fine).
   */
  readonly hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      operators.set(request, await this.authenticate(request.headers));
    } catch (error) {
      const accept = request.headers.accept ?? '';
      const path = request.url.split('?')[0] ?? '';
      if (request.method === 'GET' && accept.includes('text/html') && !path.startsWith('/api/')) {
        await reply.redirect(`${SIGN_IN_PATH}?next=${encodeURIComponent(safeNext(request.url))}`, 303);
        return;
      }
      if (error instanceof UnauthenticatedError) void reply.header('www-authenticate', 'Bearer');
      throw error;
    }
  };

  /**
   * Protects every route of `app` except `/healthz`, `/readyz`, the sign-in form and the paths for
   * which `isPublic` answers true, and registers the sign-in form (GET/POST {@link SIGN_IN_PATH})
   * and sign-out (POST {@link SIGN_OUT_PATH}). Call before registering routes.
   */
  protect(app: FastifyInstance, options: { isPublic?: (path: string) => boolean; title?: string } = {}): void {
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      if (ALWAYS_PUBLIC.has(path) || options.isPublic?.(path)) return;
      await this.hook(request, reply);
    });
    this.registerSignIn(app, options.title);
  }

  /** Registers the sign-in form and sign-out on `app` (done by {@link protect}). */
  registerSignIn(app: FastifyInstance, title = 'Delivery Reporting'): void {
    if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
      app.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 16_384 },
        (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
    }
    const page = (next: string, message: string) => signInPage(title, next, message);
    app.get(SIGN_IN_PATH, async (request, reply) => {
      const next = safeNext((request.query as Record<string, unknown> | undefined)?.['next']);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page(next, ''));
    });
    app.post(SIGN_IN_PATH, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body['next']);
      const token = typeof body['token'] === 'string' ? body['token'].trim() : '';
      try {
        if (!this.configured) await this.authenticate({});
        const operator = await this.verifyToken(token);
        const notAfter = operator.via === 'oidc' ? jwtExpiry(token) : undefined;
        const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(this.#sessionTtlMs / 1000)}`];
        if (this.#secure) attrs.push('Secure');
        request.log.info({ operator: operator.subject, via: operator.via }, 'operator signed in');
        return reply
          .header('set-cookie', `${OPERATOR_COOKIE}=${this.sessionFor(operator, notAfter)}; ${attrs.join('; ')}`)
          .redirect(next, 303);
      } catch (error) {
        const unavailable = error instanceof UnavailableError;
        const message = error instanceof UnauthenticatedError || unavailable ? error.message : 'sign-in failed';
        return reply
          .status(unavailable ? 503 : 401)
          .type('text/html; charset=utf-8')
          .send(page(next, message));
      }
    });
    app.post(SIGN_OUT_PATH, async (_request, reply) =>
      reply
        .header('set-cookie', `${OPERATOR_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
        .redirect(SIGN_IN_PATH, 303),
    );
  }
}

/** When a verified JWT stops being accepted (its `exp` plus the clock skew verification allows). */
function jwtExpiry(token: string): number | undefined {
  const claims = b64urlJson(token.split('.')[1] ?? '') as { exp?: unknown } | undefined;
  // Without the skew, a token accepted in its last minute gave a session cookie already expired.
  return typeof claims?.exp === 'number' ? claims.exp * 1000 + CLOCK_SKEW_MS : undefined;
}

function esc(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function signInPage(title: string, next: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — ${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box}input{padding:.5rem;margin:.3rem 0 1rem}
button{padding:.5rem}.error{color:#a00}</style></head>
<body>
<h1>Sign in</h1>
<p>${esc(title)} is for operators. Paste your operator token or an access token from your identity provider.</p>
${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
<form method="post" action="${SIGN_IN_PATH}">
  <input type="hidden" name="next" value="${esc(next)}">
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}
