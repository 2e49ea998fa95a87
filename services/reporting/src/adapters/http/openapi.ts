// The OpenAPI 3.1 document of /api/v1, built from the routes' own JSON schemas (so it cannot drift).
import type { FastifySchema } from 'fastify';

/** A documented GET route. */
export interface DocumentedRoute {
  readonly method: 'get';
  readonly url: string;
  readonly schema: FastifySchema;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** Media type of a non-JSON answer. */
  readonly produces?: string;
}

type Props = Record<string, Record<string, unknown>>;

/** The OpenAPI document of the documented routes. */
export function buildOpenApi(routes: readonly DocumentedRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const params = (route.schema.params as { properties?: Props } | undefined)?.properties ?? {};
    const query = (route.schema.querystring as { properties?: Props } | undefined)?.properties ?? {};
    const parameters = [
      ...Object.entries(params).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
      ...Object.entries(query).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        ...(schema['type'] === 'array' ? { style: 'form', explode: true } : {}),
        ...(typeof schema['description'] === 'string' ? { description: schema['description'] } : {}),
        schema,
      })),
    ];
    const response = (route.schema.response ?? {}) as Record<string, unknown>;
    const ok = response['200'];
    (paths[path] ??= {})[route.method] = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      parameters,
      responses: {
        200: {
          description: 'OK',
          content: {
            [route.produces ?? 'application/json']: { schema: route.produces ? { type: 'string' } : (ok ?? {}) },
          },
        },
        400: { description: 'Invalid input (unknown parameter, bad value); nothing was read.', content: errorContent },
        401: { description: 'Not signed in.', content: errorContent },
        404: { description: 'No such record.', content: errorContent },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Delivery Reporting — reports API',
      version: '1.0.0',
      description:
        'Delivery records of communications: the Delivery Report (one communication) and the Message Delivery Report (across communications). Unknown query parameters are rejected. Cursor paging in record ID order.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'OPERATOR_TOKEN, or a JWT from the configured OIDC issuer.',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'dlr_operator',
          description: 'Set by the sign-in form at /sign-in.',
        },
      },
    },
    paths,
  };
}

const errorContent = {
  'application/json': {
    schema: {
      type: 'object',
      required: ['error', 'message'],
      properties: {
        error: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'string' } },
      },
    },
  },
};
