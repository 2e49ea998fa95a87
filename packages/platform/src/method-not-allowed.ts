// A request whose path names a route but whose method does not gets 405 with an `Allow` header
// (RFC 9110 §15.5.6) instead of fastify's 404. A shadow router (fastify's own, find-my-way) holds every
// route's pattern, so a path is matched exactly as fastify would match it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Router, { type HTTPMethod } from 'find-my-way';

const noop = (): void => undefined;

/**
 * Installs the 405 answer on `app` (done once by `createHttpServer`, before any route). Runs in an
 * `onRequest` hook of unmatched requests, so a service's own not-found handler still answers real 404s.
 */
export function installMethodNotAllowed(app: FastifyInstance): void {
  const router = Router();
  const methods = new Set<HTTPMethod>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat().map((m) => String(m).toUpperCase() as HTTPMethod)) {
      methods.add(method);
      // fastify adds HEAD beside GET itself; a pattern is recorded once per method.
      if (router.findRoute(method, route.url) === null) router.on(method, route.url, noop);
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.is404) return;
    const path = request.url.split('?', 1)[0] ?? '/';
    const allowed = [...methods].filter((m) => m !== request.method && router.find(m, path) !== null).sort();
    if (allowed.length === 0) return;
    return reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send({
        error: 'method_not_allowed',
        message: `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
      });
  });
}
