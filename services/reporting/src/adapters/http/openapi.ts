// Options of @fastify/swagger: the OpenAPI 3.1 document of /api/v1 is generated from the routes' own
// schemas (what the server validates is what it documents). Only tagged routes (the API) appear.
import type { SwaggerOptions } from '@fastify/swagger';

/** The document's frame: title, security schemes; the paths come from the routes. */
export const OPENAPI_OPTIONS: SwaggerOptions = {
  hideUntagged: true,
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Delivery Reporting — reports API',
      version: '1.0.0',
      description:
        'Delivery records of communications: the Delivery Report (one communication) and the Message Delivery Report (across communications). Unknown query parameters are rejected. Cursor paging in record ID order. A method a path does not declare answers 405 with an Allow header.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    tags: [
      { name: 'Delivery Report', description: 'One communication.' },
      { name: 'Message Delivery Report', description: 'Across communications.' },
    ],
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
  },
};
