// Operator sign-in for the pages and APIs operators use (reports, console). Recipients' pages never
// use this. A caller shows `Authorization: Bearer <token>` or the signed session cookie the sign-in
// form sets (@fastify/cookie); a token is one of the static per-role tokens or, when an OIDC issuer is
// configured, a JWT verified with `jose` against the issuer's JWKS. Every operator has exactly one
// role (viewer < sender < admin); which role a route needs is declared on the route (see access.ts).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { html } from '@dlr/html';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { flag } from './config.js';
import { PermissionDeniedError, UnauthenticatedError, UnavailableError } from './errors.js';

/** The operator roles, lowest first: each role may do everything the roles before it may. */
export const ROLES = ['viewer', 'sender', 'admin'] as const;
/** An operator role: viewer (reads), sender (create and send), admin (override, lift, erasure, audit). */
export type Role = (typeof ROLES)[number];

/** Whether an operator with role `have` may do what needs role `need`. */
export function allows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

const token = z.string().min(16, 'must be at least 16 characters').optional();

/** Parses `OIDC_ROLE_MAP` (`role=group,role=group…`; a role may appear more than once). */
const roleMap = z.string().transform((value, ctx) => {
  const map = new Map<string, Role>();
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const [role, group] = entry.split('=', 2).map((s) => s.trim());
    if (!role || !group || !(ROLES as readonly string[]).includes(role)) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not role=group with a role of ${ROLES.join(', ')}` });
      return z.NEVER;
    }
    map.set(group, role as Role);
  }
  return map;
});

/** The OIDC group → role mapping when OIDC_ROLE_MAP is unset. */
export const DEFAULT_ROLE_MAP: ReadonlyMap<string, Role> = new Map<string, Role>([
  ['dlr-admins', 'admin'],
  ['dlr-senders', 'sender'],
  ['dlr-viewers', 'viewer'],
]);

/** Configuration variables of operator sign-in; spread into a service's `configShape`. */
export const operatorAuthConfigShape = {
  /** Static token of the viewer role (reports, CSV, live); at least 16 characters. */
  OPERATOR_VIEWER_TOKEN: token,
  /** Static token of the sender role (create, recipients, preview, send, resend, cancel). */
  OPERATOR_SENDER_TOKEN: token,
  /** Static token of the admin role (emergency override, suppression lifts, audit log, erasure). */
  OPERATOR_ADMIN_TOKEN: token,
  /** Older name of OPERATOR_ADMIN_TOKEN, still accepted (local use, CI). */
  OPERATOR_TOKEN: token,
  /** Key that signs session cookies (share it between replicas); defaults to one derived from the static tokens. */
  OPERATOR_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a sign-in lasts. */
  OPERATOR_SESSION_HOURS: z.coerce.number().int().min(1).max(168).default(12),
  /** Mark the session cookie `Secure` even when PUBLIC_BASE_URL is not https. */
  OPERATOR_COOKIE_SECURE: flag(false),
  /** The URL operators open this service at: https makes the session cookie `Secure`; forms must come from its origin. */
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** OIDC issuer whose JWTs are accepted as bearer tokens (its discovery document names the JWKS). */
  OIDC_ISSUER_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The `aud` a JWT must carry; required with OIDC_ISSUER_URL. */
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** The JWT claim that lists the caller's groups or roles (a string or an array of strings). */
  OIDC_ROLES_CLAIM: z.string().min(1).default('groups'),
  /** Which claim value gives which role: `admin=dlr-admins,sender=dlr-senders,viewer=dlr-viewers`. */
  OIDC_ROLE_MAP: roleMap.optional().transform((map) => map ?? DEFAULT_ROLE_MAP),
};

/** The part of a service's config operator sign-in reads. */
export type OperatorAuthConfig = Readonly<z.output<z.ZodObject<typeof operatorAuthConfigShape>>>;

/** Who is signed in. */
export interface Operator {
  /** `<role>-token` for a static token, else the JWT's `sub`. Not personal data by itself; log it as an ID. */
  readonly subject: string;
  readonly role: Role;
  readonly via: 'token' | 'oidc' | 'session';
}

/** Options of {@link OperatorAuth}. */
export interface OperatorAuthOptions {
  /** Static tokens by role. */
  tokens?: Partial<Record<Role, string | undefined>>;
  sessionSecret?: string | undefined;
  sessionTtlMs?: number;
  secureCookie?: boolean;
  /** The origin forms must come from (else the request's own origin). */
  publicOrigin?: string | undefined;
  oidc?: { issuerUrl: string; audience: string; rolesClaim?: string; roleMap?: ReadonlyMap<string, Role> } | undefined;
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

const CLOCK_SKEW_S = 60;
const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

const operators = new WeakMap<FastifyRequest, Operator>();

/** The operator a protected request was authenticated as (undefined on public routes). */
export function operatorOf(request: FastifyRequest): Operator | undefined {
  return operators.get(request);
}

/** Records who a request was authenticated as (done by the access check). */
export function setOperator(request: FastifyRequest, operator: Operator): void {
  operators.set(request, operator);
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

/** A relative path to return to after sign-in; anything else (other hosts, `//x`) becomes `/`. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 2048 ? value : '/';
}

interface SessionBody {
  s: string;
  r: Role;
  e: number;
}

/**
 * Operator authentication: verify a bearer token or a session cookie, and serve the sign-in form.
 * Fails closed: with neither a static token nor an OIDC issuer configured, every protected request
 * is refused with a message saying so.
 */
export class OperatorAuth {
  readonly #tokens: readonly { token: string; role: Role }[];
  /** Key @fastify/cookie signs the session cookie with. */
  readonly sessionSecret: string;
  readonly #sessionTtlMs: number;
  /** Whether the session cookie is marked `Secure`. */
  readonly secureCookie: boolean;
  /** The origin forms must come from, when configured. */
  readonly publicOrigin: string | undefined;
  readonly #oidc:
    { issuerUrl: string; audience: string; rolesClaim: string; roleMap: ReadonlyMap<string, Role> } | undefined;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #jwks: Promise<JWTVerifyGetKey> | undefined;

  constructor(options: OperatorAuthOptions) {
    this.#tokens = ROLES.flatMap((role) => {
      const t = options.tokens?.[role];
      return t === undefined ? [] : [{ token: t, role }];
    });
    if (new Set(this.#tokens.map((t) => t.token)).size < this.#tokens.length) {
      throw new Error('each role needs its own operator token');
    }
    this.sessionSecret =
      options.sessionSecret ??
      (this.#tokens.length > 0
        ? createHash('sha256')
            .update(`dlr operator session v2:${this.#tokens.map((t) => t.token).join(':')}`)
            .digest('base64url')
        : randomBytes(32).toString('base64url')); // OIDC only, no secret: sessions last as long as this process.
    this.#sessionTtlMs = options.sessionTtlMs ?? 12 * 3_600_000;
    this.secureCookie = options.secureCookie ?? false;
    this.publicOrigin = options.publicOrigin;
    this.#oidc = options.oidc
      ? {
          issuerUrl: options.oidc.issuerUrl.replace(/\/+$/, ''),
          audience: options.oidc.audience,
          rolesClaim: options.oidc.rolesClaim ?? 'groups',
          roleMap: options.oidc.roleMap ?? DEFAULT_ROLE_MAP,
        }
      : undefined;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  /** Builds it from a service's config. Throws an Error when OIDC_ISSUER_URL is set without OIDC_AUDIENCE. */
  static fromConfig(config: OperatorAuthConfig): OperatorAuth {
    if (config.OIDC_ISSUER_URL && !config.OIDC_AUDIENCE) {
      throw new Error('OIDC_AUDIENCE is required when OIDC_ISSUER_URL is set');
    }
    if (config.OPERATOR_TOKEN && config.OPERATOR_ADMIN_TOKEN && config.OPERATOR_TOKEN !== config.OPERATOR_ADMIN_TOKEN) {
      throw new Error('OPERATOR_TOKEN is the older name of OPERATOR_ADMIN_TOKEN: set one of them');
    }
    const publicUrl = config.PUBLIC_BASE_URL ? new URL(config.PUBLIC_BASE_URL) : undefined;
    return new OperatorAuth({
      tokens: {
        viewer: config.OPERATOR_VIEWER_TOKEN,
        sender: config.OPERATOR_SENDER_TOKEN,
        admin: config.OPERATOR_ADMIN_TOKEN ?? config.OPERATOR_TOKEN,
      },
      sessionSecret: config.OPERATOR_SESSION_SECRET,
      sessionTtlMs: config.OPERATOR_SESSION_HOURS * 3_600_000,
      secureCookie: config.OPERATOR_COOKIE_SECURE || publicUrl?.protocol === 'https:',
      publicOrigin: publicUrl?.origin,
      oidc:
        config.OIDC_ISSUER_URL && config.OIDC_AUDIENCE
          ? {
              issuerUrl: config.OIDC_ISSUER_URL,
              audience: config.OIDC_AUDIENCE,
              rolesClaim: config.OIDC_ROLES_CLAIM,
              roleMap: config.OIDC_ROLE_MAP,
            }
          : undefined,
    });
  }

  /** True when some way of signing in is configured. */
  get configured(): boolean {
    return this.#tokens.length > 0 || this.#oidc !== undefined;
  }

  /**
   * Who sent this request: a bearer token (static or OIDC JWT) or the session cookie. Throws an
   * {@link UnauthenticatedError} (message safe to show) when neither verifies, a
   * {@link PermissionDeniedError} for a valid JWT that maps to no role.
   */
  async authenticate(request: Pick<FastifyRequest, 'headers' | 'cookies' | 'unsignCookie'>): Promise<Operator> {
    if (!this.configured) {
      throw new UnauthenticatedError(
        'operator sign-in is not configured (set OPERATOR_ADMIN_TOKEN or another OPERATOR_*_TOKEN, or OIDC_ISSUER_URL)',
      );
    }
    const auth = request.headers.authorization;
    if (auth !== undefined) {
      const token = bearerToken(auth);
      if (token === undefined) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
      return this.verifyToken(token);
    }
    const cookie = request.cookies[OPERATOR_COOKIE];
    if (cookie !== undefined) {
      const session = this.#verifySession(request, cookie);
      if (session) return session;
      throw new UnauthenticatedError('your session has expired or is not valid; sign in again');
    }
    throw new UnauthenticatedError('sign in first: send "Authorization: Bearer <token>" or use the sign-in page');
  }

  /**
   * Verifies a token: a static one, or an OIDC JWT. Throws an {@link UnauthenticatedError}, a
   * {@link PermissionDeniedError} (valid JWT, no mapped role) or an {@link UnavailableError}.
   */
  async verifyToken(token: string): Promise<Operator> {
    return (await this.#verify(token)).operator;
  }

  async #verify(token: string): Promise<{ operator: Operator; exp?: number }> {
    const match = this.#tokens.find((t) => sameSecret(token, t.token));
    if (match) return { operator: { subject: `${match.role}-token`, role: match.role, via: 'token' } };
    if (this.#oidc && token.split('.').length === 3) return this.#verifyJwt(token, this.#oidc);
    throw new UnauthenticatedError('the token is not valid');
  }

  /** The session cookie value for an operator (done by the sign-in form). */
  #sessionValue(operator: Operator, notAfter?: number): SessionBody {
    const exp = Math.min(this.#now() + this.#sessionTtlMs, notAfter ?? Number.POSITIVE_INFINITY);
    return { s: operator.subject, r: operator.role, e: exp };
  }

  #verifySession(request: Pick<FastifyRequest, 'unsignCookie'>, value: string): Operator | undefined {
    const unsigned = request.unsignCookie(value);
    if (!unsigned.valid || unsigned.value === null) return undefined;
    let body: Partial<SessionBody>;
    try {
      body = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as Partial<SessionBody>;
    } catch {
      return undefined;
    }
    if (typeof body.s !== 'string' || typeof body.e !== 'number' || body.e <= this.#now()) return undefined;
    if (typeof body.r !== 'string' || !(ROLES as readonly string[]).includes(body.r)) return undefined;
    return { subject: body.s, role: body.r, via: 'session' };
  }

  #keys(oidc: { issuerUrl: string }): Promise<JWTVerifyGetKey> {
    this.#jwks ??= this.#discover(oidc).catch((error: unknown) => {
      this.#jwks = undefined; // try discovery again on the next token
      throw error;
    });
    return this.#jwks;
  }

  async #discover(oidc: { issuerUrl: string }): Promise<JWTVerifyGetKey> {
    const url = `${oidc.issuerUrl}/.well-known/openid-configuration`;
    let discovery: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await this.#fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      discovery = (await response.json()) as typeof discovery;
    } catch (error) {
      throw keysUnavailable(error);
    }
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if (typeof discovery.issuer !== 'string' || discovery.issuer.replace(/\/+$/, '') !== oidc.issuerUrl) {
      throw keysUnavailable(new Error('the discovery document names another issuer'));
    }
    if (typeof discovery.jwks_uri !== 'string')
      throw keysUnavailable(new Error('the discovery document names no jwks_uri'));
    const remote = createRemoteJWKSet(new URL(discovery.jwks_uri), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
      [customFetch]: this.#fetch,
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        // About the token (no key fits it) or about the issuer (the JWKS could not be fetched or read).
        if (
          error instanceof joseErrors.JWKSNoMatchingKey ||
          error instanceof joseErrors.JWKSMultipleMatchingKeys ||
          error instanceof joseErrors.JOSENotSupported ||
          error instanceof joseErrors.JOSEAlgNotAllowed
        ) {
          throw error;
        }
        this.#jwks = undefined; // the issuer may have moved its JWKS: discover again next time
        throw keysUnavailable(error);
      }
    };
  }

  async #verifyJwt(
    token: string,
    oidc: { issuerUrl: string; audience: string; rolesClaim: string; roleMap: ReadonlyMap<string, Role> },
  ): Promise<{ operator: Operator; exp: number }> {
    const keys = await this.#keys(oidc);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: [oidc.issuerUrl, `${oidc.issuerUrl}/`],
        audience: oidc.audience,
        algorithms: JWT_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(this.#now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw jwtRefusal(error);
    }
    const sub = payload['sub'];
    if (typeof sub !== 'string' || sub === '') throw new UnauthenticatedError('the token names no subject');
    const claim = payload[oidc.rolesClaim];
    const values = Array.isArray(claim) ? claim : [claim];
    let role: Role | undefined;
    for (const value of values) {
      const mapped = typeof value === 'string' ? oidc.roleMap.get(value) : undefined;
      if (mapped && (role === undefined || allows(mapped, role))) role = mapped;
    }
    if (role === undefined) {
      throw new PermissionDeniedError(
        `your token's "${oidc.rolesClaim}" claim names no Delivery Reporting role; ask for one of the mapped groups`,
      );
    }
    // Without the skew, a token accepted in its last minute gave a session cookie already expired.
    return { operator: { subject: sub, role, via: 'oidc' }, exp: ((payload['exp'] as number) + CLOCK_SKEW_S) * 1000 };
  }

  /**
   * Registers the sign-in form (GET/POST {@link SIGN_IN_PATH}, public, rate-limited) and sign-out
   * (POST {@link SIGN_OUT_PATH}) on `app`, in their own plugin scope. Done by `createHttpServer`.
   */
  registerSignIn(app: FastifyInstance, title = 'Delivery Reporting'): void {
    const page = (next: string, message: string) => signInPage(title, next, message);
    const signInLimit = { max: 20, timeWindow: '1 minute' };
    app.get(SIGN_IN_PATH, { config: { access: 'public' } }, async (request, reply) => {
      const next = safeNext((request.query as Record<string, unknown> | undefined)?.['next']);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page(next, ''));
    });
    app.post(SIGN_IN_PATH, { config: { access: 'public', rateLimit: signInLimit } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body['next']);
      const token = typeof body['token'] === 'string' ? body['token'].trim() : '';
      try {
        if (!this.configured) await this.authenticate(request);
        const { operator, exp } = await this.#verify(token);
        const session = Buffer.from(JSON.stringify(this.#sessionValue(operator, exp))).toString('base64url');
        request.log.info({ operator: operator.subject, role: operator.role, via: operator.via }, 'operator signed in');
        return reply
          .setCookie(OPERATOR_COOKIE, session, {
            signed: true,
            path: '/',
            httpOnly: true,
            sameSite: 'strict',
            secure: this.secureCookie,
            maxAge: Math.floor(this.#sessionTtlMs / 1000),
          })
          .redirect(next, 303);
      } catch (error) {
        const unavailable = error instanceof UnavailableError;
        const denied = error instanceof PermissionDeniedError;
        const message =
          error instanceof UnauthenticatedError || unavailable || denied ? error.message : 'sign-in failed';
        return reply
          .status(unavailable ? 503 : denied ? 403 : 401)
          .type('text/html; charset=utf-8')
          .send(page(next, message));
      }
    });
    app.post(SIGN_OUT_PATH, { config: { access: 'public' } }, async (_request, reply) =>
      reply
        .clearCookie(OPERATOR_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: this.secureCookie })
        .redirect(SIGN_IN_PATH, 303),
    );
  }
}

function keysUnavailable(error: unknown): UnavailableError {
  // Not the token's fault: the operator should retry, not sign in again (503, not 401).
  return new UnavailableError(
    `the OIDC issuer's keys could not be fetched: ${error instanceof Error ? error.message : String(error)}; try again shortly`,
  );
}

/** The error a JWT refused by jose becomes: a message safe to show, 503 when the issuer cannot be reached. */
function jwtRefusal(error: unknown): Error {
  if (error instanceof UnavailableError) return error;
  if (error instanceof joseErrors.JWKSTimeout) return keysUnavailable(error);
  if (error instanceof joseErrors.JWTExpired) return new UnauthenticatedError('the token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new UnauthenticatedError('the token is from another issuer');
    if (error.claim === 'aud') return new UnauthenticatedError('the token is for another audience');
    if (error.claim === 'nbf') return new UnauthenticatedError('the token is not valid yet');
    if (error.claim === 'sub') return new UnauthenticatedError('the token names no subject');
    if (error.claim === 'exp') return new UnauthenticatedError('the token has expired');
    return new UnauthenticatedError('the token is not a JWT this service accepts');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new UnauthenticatedError('the token signature does not verify');
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new UnauthenticatedError('the token is signed with a key the issuer does not publish');
  }
  if (error instanceof joseErrors.JOSEError)
    return new UnauthenticatedError('the token is not a JWT this service accepts');
  // The JWKS fetch failed (network, HTTP status, bad JSON): the token may be fine.
  return keysUnavailable(error);
}

function signInPage(title: string, next: string, message: string): string {
  return String(html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — ${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box}input{padding:.5rem;margin:.3rem 0 1rem}
button{padding:.5rem}.error{color:#a00}</style></head>
<body>
<h1>Sign in</h1>
<p>${title} is for operators. Paste your operator token or an access token from your identity provider.</p>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<form method="post" action="${SIGN_IN_PATH}">
  <input type="hidden" name="next" value="${next}">
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`);
}
