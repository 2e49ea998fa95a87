// The HTML pages: the Delivery Report, a record's timeline, the Message Delivery Report and their script.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { MessageFilters, RecordFilters } from '../../domain/report-queries.js';
import { REPORT_SCRIPT } from './assets.js';
import { renderDeliveryReport, renderMessageReport, renderTimelinePage } from './html.js';
import {
  messageFiltersOf,
  recordFiltersOf,
  rejectUnknownQuery,
  VIEWER,
  type Query,
  type RouteDeps,
} from './request.js';
import { COMMUNICATION_PARAMS, MESSAGE_FILTER_PROPS, PAGE_PROPS, query, RECORD_FILTER_PROPS } from './schemas.js';

/** Records the HTML Delivery Report shows per page. */
export const HTML_REPORT_LIMIT = 100;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function html(reply: FastifyReply, body: string): FastifyReply {
  return reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(body);
}

/** Rebuilds a query string of filters (for links, CSV and Copy IDs). */
export function filterQuery(values: Record<string, string | readonly string[] | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    for (const v of typeof value === 'string' ? [value] : value) if (v !== '') params.append(key, v);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function recordFilterQuery(f: RecordFilters): Record<string, string | readonly string[] | undefined> {
  return { status: f.statuses, channel: f.channels, response: f.response, q: f.search };
}

function messageFilterQuery(f: MessageFilters, raw: Query): Record<string, string | readonly string[] | undefined> {
  return {
    from: typeof raw['from'] === 'string' ? raw['from'] : undefined,
    to: typeof raw['to'] === 'string' ? raw['to'] : undefined,
    communicationId: f.communicationId,
    status: f.statuses,
    channel: f.channels,
  };
}

/** Registers the pages and the report script. */
export function registerPages(app: FastifyInstance, deps: RouteDeps): void {
  const { queries } = deps;
  const config = VIEWER;

  app.get('/', { config }, async (_request, reply) => reply.redirect('/reports/messages', 303));

  app.get('/assets/report.js', { config }, async (_request, reply) =>
    reply
      .headers({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
      .type('text/javascript; charset=utf-8')
      .send(REPORT_SCRIPT),
  );

  const htmlReportSchema = {
    params: COMMUNICATION_PARAMS,
    querystring: query({ cursor: PAGE_PROPS.cursor, ...RECORD_FILTER_PROPS }),
  };
  app.get<{ Params: { id: string }; Querystring: Query }>(
    '/communications/:id',
    { config, schema: htmlReportSchema, preValidation: rejectUnknownQuery(htmlReportSchema) },
    async (request, reply) => {
      const filters = recordFiltersOf(request.query);
      const [page, history] = await Promise.all([
        queries.list({
          communicationId: request.params.id,
          limit: HTML_REPORT_LIMIT,
          cursor: request.query['cursor'] as string | undefined,
          filters,
        }),
        queries.history(request.params.id),
      ]);
      return html(
        reply,
        renderDeliveryReport(page, {
          filterQuery: filterQuery(recordFilterQuery(filters)),
          firstPage: request.query['cursor'] === undefined,
          limit: HTML_REPORT_LIMIT,
          history,
        }),
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/delivery-records/:id',
    { config, schema: { params: COMMUNICATION_PARAMS } },
    async (request, reply) => {
      const { record, timeline } = await queries.get(request.params.id);
      return html(reply, renderTimelinePage(record, timeline));
    },
  );

  const htmlMessageSchema = { querystring: query({ cursor: PAGE_PROPS.cursor, ...MESSAGE_FILTER_PROPS }) };
  app.get<{ Querystring: Query }>(
    '/reports/messages',
    { config, schema: htmlMessageSchema, preValidation: rejectUnknownQuery(htmlMessageSchema) },
    async (request, reply) => {
      const filters = messageFiltersOf(request.query);
      const page = await queries.messages({
        filters,
        limit: HTML_REPORT_LIMIT,
        cursor: request.query['cursor'] as string | undefined,
      });
      const raw = request.query;
      return html(
        reply,
        renderMessageReport(page, {
          filterQuery: filterQuery(messageFilterQuery(filters, raw)),
          from: typeof raw['from'] === 'string' ? raw['from'] : '',
          to: typeof raw['to'] === 'string' ? raw['to'] : '',
          firstPage: raw['cursor'] === undefined,
        }),
      );
    },
  );
}
