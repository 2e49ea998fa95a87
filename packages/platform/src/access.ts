// Who may call an HTTP route is said by the route itself: `config: { access: 'public' }` or
// `config: { role: 'viewer' | 'sender' | 'admin' }`. One `onRequest` hook reads the MATCHED route's
// options (never the URL, so no spelling of a path can reach a route it does not name), and a route
// that says neither is refused when it is registered, so the mistake shows at start.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PermissionDeniedError, UnauthenticatedError } from './errors.js';
import { allows, safeNext, setOperator, SIGN_IN_PATH, type OperatorAuth, type Role } from './operator-auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `public`: anyone may call the route (recipient pages, webhooks, sign-in). */
    access?: 'public';
    /** The least operator role the route needs. */
    role?: Role;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A route as registered: its methods, URL pattern and declared access. */
export interface HttpRoute {
  readonly methods: readonly string[];
  readonly url: string;
  /** `public`, or the role the route needs. */
  readonly access: 'public' | Role;
}

const routeLists = new WeakMap<FastifyInstance, HttpRoute[]>();

/** Every route registered on a server made by `createHttpServer` (in any plugin scope), in order. */
export function registeredRoutes(app: FastifyInstance): readonly HttpRoute[] {
  return routeLists.get(app) ?? [];
}

/**
 * Refuses a cookie-authenticated state-changing request that a browser says comes from another
 * origin (`Sec-Fetch-Site` other than same-origin, or an `Origin` not this service's): the
 * recipient-link host is same-site with the console, so same-site is not enough.
 */
function checkSameOrigin(request: FastifyRequest, auth: OperatorAuth): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw new PermissionDeniedError('this form must be sent from the page this service served (cross-origin request)');
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const own = auth.publicOrigin ?? `${request.protocol}://${request.host}`;
  if (origin !== own) {
    throw new PermissionDeniedError('this form must be sent from the page this service served (cross-origin request)');
  }
}

/**
 * Installs the access check on `app` (done once by `createHttpServer`). Routes registered afterwards
 * must declare `config.access` or `config.role`, else registration throws; a role route on a server
 * without operator sign-in throws too.
 */
export function installAccess(app: FastifyInstance, auth: OperatorAuth | undefined): void {
  const routes: HttpRoute[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { access?: unknown; role?: unknown };
    const name = `${String(route.method)} ${route.url}`;
    if (config.access !== undefined && config.access !== 'public') {
      throw new Error(`${name}: config.access must be 'public' (or give config.role instead)`);
    }
    if (config.access === 'public' && config.role !== undefined) {
      throw new Error(`${name}: a route is either public or needs a role, not both`);
    }
    if (config.access === undefined) {
      if (config.role !== 'viewer' && config.role !== 'sender' && config.role !== 'admin') {
        throw new Error(`${name}: declare config.access: 'public' or config.role: 'viewer' | 'sender' | 'admin'`);
      }
      if (auth === undefined) throw new Error(`${name} needs a role but this server has no operator sign-in`);
    }
    routes.push({
      methods: [route.method].flat().map(String),
      url: route.url,
      access: config.access === 'public' ? 'public' : (config.role as Role),
    });
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // Not found stays 404: there is no route, hence nothing to protect.
    if (request.is404) return;
    const { access, role } = request.routeOptions.config;
    if (access === 'public') return;
    if (role === undefined || auth === undefined) throw new PermissionDeniedError('this route is closed');
    try {
      const operator = await auth.authenticate(request);
      if (!allows(operator.role, role)) {
        throw new PermissionDeniedError(`this needs the ${role} role; you are signed in as ${operator.role}`);
      }
      if (operator.via === 'session' && !SAFE_METHODS.has(request.method)) checkSameOrigin(request, auth);
      setOperator(request, operator);
    } catch (error) {
      const accept = request.headers.accept ?? '';
      if (
        error instanceof UnauthenticatedError &&
        request.method === 'GET' &&
        accept.includes('text/html') &&
        !(request.routeOptions.url ?? '').startsWith('/api/')
      ) {
        await reply.redirect(`${SIGN_IN_PATH}?next=${encodeURIComponent(safeNext(request.url))}`, 303);
        return reply;
      }
      if (error instanceof UnauthenticatedError) void reply.header('www-authenticate', 'Bearer');
      throw error;
    }
  });
}
