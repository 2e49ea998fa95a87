// What every console page module shares: sending a page, reading a posted form, the caller's
// name for audits, and the page handler that turns errors into pages (never a stack trace).
import { AppError, NotFoundError, operatorOf, type Logger } from '@dlr/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorPage } from './views.js';

/** The fields of a form; a file field holds its content as text. */
type FormFields = Record<string, string[]>;

// CSP, nosniff and the rest come from platform's helmet; these pages must not be cached.
const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'same-origin',
} as const;

/** Sends a console page (no caching). */
export function html(reply: FastifyReply, body: string, status = 200) {
  return reply.status(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(body);
}

/** The fields of a posted form. */
export function fields(request: FastifyRequest): FormFields {
  const body = request.body;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) {
    const out: FormFields = {};
    // Form fields are strings (arrays when repeated); an uploaded file arrives as a Buffer.
    const text = (x: unknown) => (typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('utf8') : undefined);
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      const values = (Array.isArray(v) ? v : [v]).map(text).filter((x): x is string => x !== undefined);
      if (values.length > 0) out[k] = values;
    }
    return out;
  }
  return {};
}

/** The first value of a form field ('' when absent). */
export const one = (f: FormFields, name: string) => f[name]?.[0] ?? '';

/** A query parameter ('' when absent or repeated). */
export function query(request: FastifyRequest, name: string): string {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** The name to prefill in audit fields: the signed-in subject unless it is the shared static-token one. */
export function defaultOperator(request: FastifyRequest): string {
  const op = operatorOf(request);
  return op && op.via !== 'token' && op.subject !== 'operator' ? op.subject : '';
}

/** The authenticated caller, as audits record it. */
export function principal(request: FastifyRequest): string {
  const op = operatorOf(request);
  return op ? `${op.via}:${op.subject}` : 'unknown';
}

/** Runs a console page handler; errors become an HTML page with the right status, never a stack trace. */
export function pageHandler(logger: Logger) {
  return (fn: (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      try {
        return await fn(request, reply);
      } catch (error) {
        if (error instanceof NotFoundError) return html(reply, errorPage('Not found', error.message), 404);
        if (error instanceof AppError && error.code !== 'internal') {
          const status =
            { invalid_argument: 400, failed_precondition: 409, unavailable: 503 }[error.code as string] ?? 400;
          const detail = error.details.length ? `${error.message}: ${error.details.join('; ')}` : error.message;
          return html(reply, errorPage('That did not work', detail), status);
        }
        logger.error({ err: error, url: request.routeOptions.url }, 'console request failed');
        return html(reply, errorPage('Something went wrong', 'internal error; nothing was changed by this page'), 500);
      }
    };
}
