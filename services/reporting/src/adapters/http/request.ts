// What every reporting route file shares: its dependencies, the viewer role, the documented-route
// helper and the parsing of filters from a query string.
import { InvalidArgumentError, type Logger } from '@dlr/platform';
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import {
  checkFilters,
  type MessageFilters,
  type RecordFilters,
  type ReportQueries,
} from '../../domain/report-queries.js';
import type { ChangeWatcher } from '../../domain/watch.js';

/** What the routes need. */
export interface RouteDeps {
  readonly queries: ReportQueries;
  readonly watcher: ChangeWatcher;
  readonly logger: Logger;
}

/** Reading reports, CSVs, IDs and live updates is the viewer role's (platform's access check). */
export const VIEWER = { role: 'viewer' } as const;

/** A parsed query string. */
export type Query = Record<string, unknown>;

/** What the OpenAPI document says of a route. */
export interface ApiDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tags: string[];
}

/** The handler of a GET route with query `Q` and path parameters `P`. */
export type ApiHandler<Q, P> = (
  request: FastifyRequest<{ Querystring: Q; Params: P }>,
  reply: FastifyReply,
) => Promise<unknown>;

/** Registers a GET route under /api/v1 and lists it in the OpenAPI document. */
export type ApiRoute = <Q extends Query = Query, P = { id: string }>(
  url: string,
  doc: ApiDoc,
  schema: FastifySchema,
  handler: ApiHandler<Q, P>,
) => void;

function asList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The Delivery Report's filters of a query string. Throws an {@link InvalidArgumentError} for a bad one. */
export function recordFiltersOf(q: Query): RecordFilters {
  return checkFilters({
    statuses: asList(q['status']),
    channels: asList(q['channel']),
    response: typeof q['response'] === 'string' ? q['response'] : undefined,
    search: typeof q['q'] === 'string' ? q['q'] : undefined,
  });
}

/** A date filter value: a date means that whole UTC day (`to`: up to its end). Throws for an invalid date. */
export function parseDate(value: unknown, name: 'from' | 'to'): Date | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be given once`);
  const text = value;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const date = new Date(dateOnly ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime()) || (dateOnly && date.toISOString().slice(0, 10) !== text)) {
    throw new InvalidArgumentError(`${name} is not a valid date`);
  }
  return dateOnly && name === 'to' ? new Date(date.getTime() + 86_400_000) : date;
}

/** The Message Delivery Report's filters of a query string. Throws an {@link InvalidArgumentError} for a bad one. */
export function messageFiltersOf(q: Query): MessageFilters {
  const base = checkFilters({ statuses: asList(q['status']), channels: asList(q['channel']) });
  const from = parseDate(q['from'], 'from');
  const to = parseDate(q['to'], 'to');
  const communicationId =
    typeof q['communicationId'] === 'string' && q['communicationId'] !== '' ? q['communicationId'] : undefined;
  return {
    ...base,
    ...(communicationId !== undefined ? { communicationId } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
}

/**
 * Rejects query parameters the route's schema does not name (fastify's default validator would drop
 * them silently; an operator who misspells a filter must hear about it, not get unfiltered rows).
 */
export function rejectUnknownQuery(schema: FastifySchema) {
  const allowed = new Set(Object.keys((schema.querystring as { properties?: object } | undefined)?.properties ?? {}));
  return async (request: FastifyRequest) => {
    for (const key of Object.keys(request.query ?? {})) {
      if (!allowed.has(key)) {
        throw new InvalidArgumentError(
          `unknown query parameter "${key.slice(0, 40)}"; allowed: ${[...allowed].join(', ') || 'none'}`,
        );
      }
    }
  };
}
