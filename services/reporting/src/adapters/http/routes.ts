// Registers reporting's routes: the REST API and live updates (api.ts), the downloads (exports.ts),
// the HTML pages (pages.ts) and the OpenAPI document of /api/v1. Every route needs the viewer role.
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { registerApi } from './api.js';
import { registerExports } from './exports.js';
import { OPENAPI_OPTIONS } from './openapi.js';
import { registerPages } from './pages.js';
import {
  rejectUnknownQuery,
  VIEWER,
  type ApiDoc,
  type ApiHandler,
  type ApiRoute,
  type Query,
  type RouteDeps,
} from './request.js';

export type { RouteDeps } from './request.js';

/** Registers the reporting routes on a platform fastify instance (created with operator sign-in). */
export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  // Collects the routes registered from here on; only tagged ones (the /api/v1 routes) are documented.
  await app.register(fastifySwagger, OPENAPI_OPTIONS);
  const api: ApiRoute = <Q extends Query, P>(
    url: string,
    doc: ApiDoc,
    schema: FastifySchema,
    handler: ApiHandler<Q, P>,
  ) => {
    app.get<{ Querystring: Q; Params: P }>(
      url,
      { config: VIEWER, schema: { ...doc, ...schema }, preValidation: rejectUnknownQuery(schema) },
      handler,
    );
  };
  registerApi(api, deps);
  registerExports(api, deps);
  app.get('/api/v1/openapi.json', { config: VIEWER }, async () => app.swagger());
  registerPages(app, deps);
}
