// REST API (/api/v1, JSON schemas, OpenAPI), the two HTML reports, live updates (SSE), Copy IDs and
// CSV exports. Every route needs the viewer role (declared on each route; platform's access check).
import { Readable } from 'node:stream';
import { InvalidArgumentError, type Logger } from '@dlr/platform';
import { STATUS_KEYS, STATUSES, type StatusKey } from '@dlr/status-engine';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { ChannelKey, TimelineEntry } from '../../domain/model.js';
import {
  checkFilters,
  DEFAULT_LIMIT,
  MAX_LIMIT,
  MAX_RESPONSE,
  MAX_SEARCH,
  type DeliveryRecordView,
  type MessageFilters,
  type RecordFilters,
  type ReportQueries,
} from '../../domain/report-queries.js';
import type { RecordQuery } from '../../domain/reads.js';
import type { ChangeWatcher } from '../../domain/watch.js';
import { csvLine, CSV_HEADER } from './csv.js';
import { REPORT_SCRIPT } from './assets.js';
import { renderDeliveryReport, renderMessageReport, renderTimelinePage } from './html.js';
import { buildOpenApi, type DocumentedRoute } from './openapi.js';

/** Records the HTML Delivery Report shows per page. */
export const HTML_REPORT_LIMIT = 100;

const ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } as const;
const DATE = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2}))?$',
  description: 'A date (YYYY-MM-DD, a whole UTC day) or an ISO 8601 date-time with offset.',
} as const;
const FILTER_PROPS = {
  status: {
    type: 'array',
    items: { type: 'string', enum: STATUS_KEYS },
    maxItems: 10,
    description: 'Shown status; repeat for any of several.',
  },
  channel: {
    type: 'array',
    items: { type: 'string', enum: ['email', 'sms'] },
    maxItems: 2,
    description: 'Repeat for both.',
  },
} as const;
const RECORD_FILTER_PROPS = {
  ...FILTER_PROPS,
  response: { type: 'string', maxLength: MAX_RESPONSE, description: 'Exactly this response option.' },
  q: {
    type: 'string',
    maxLength: MAX_SEARCH,
    description: "Text in the recipient's name or address (case-insensitive).",
  },
} as const;
const PAGE_PROPS = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
  cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'nextCursor of the previous page.' },
} as const;
const MESSAGE_FILTER_PROPS = {
  ...FILTER_PROPS,
  communicationId: ID,
  from: { ...DATE, description: `Created at or after. ${DATE.description}` },
  to: { ...DATE, description: `Created before (a date: up to the end of that day). ${DATE.description}` },
} as const;

function query(properties: Record<string, unknown>) {
  return { type: 'object', additionalProperties: false, properties } as const;
}
const COMMUNICATION_PARAMS = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: ID } };
const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'string' } },
  },
};
const COUNTS_SCHEMA = {
  type: 'object',
  properties: Object.fromEntries(STATUS_KEYS.map((k) => [k, { type: 'integer' }])),
};
const RECORD_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    communicationId: { type: 'string' },
    channel: { type: ['string', 'null'], enum: ['email', 'sms', null] },
    recipientName: { type: 'string' },
    address: { type: 'string' },
    status: { type: 'string', enum: STATUS_KEYS },
    statusLabel: { type: 'string' },
    response: { type: 'string' },
    reasonCode: { type: 'string' },
    reasonText: { type: 'string' },
    attempt: { type: 'integer' },
    flags: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

type Query = Record<string, unknown>;

function asList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

function recordFiltersOf(q: Query): RecordFilters {
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

function messageFiltersOf(q: Query): MessageFilters {
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

/** A record as the REST API returns it. */
export function recordJson(r: DeliveryRecordView) {
  return {
    id: r.id,
    communicationId: r.communicationId,
    channel: r.channel,
    recipientName: r.recipientName,
    address: r.address,
    status: r.status,
    statusLabel: r.statusLabel,
    response: r.response,
    reasonCode: r.reasonCode,
    reasonText: r.reasonText,
    attempt: r.attempt,
    flags: [...r.flags],
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

function timelineJson(t: TimelineEntry) {
  return {
    eventId: t.eventId,
    status: t.status,
    statusLabel: STATUSES[t.status].label,
    source: t.source,
    provider: t.provider,
    providerEventType: t.providerEventType,
    providerMessageId: t.providerMessageId,
    reasonCode: t.reasonCode,
    reasonText: t.reasonText,
    attempt: t.attempt,
    response: t.response,
    occurredAt: t.occurredAt?.toISOString() ?? null,
    receivedAt: t.receivedAt.toISOString(),
  };
}

/**
 * Rejects query parameters the route's schema does not name (fastify's default validator would drop
 * them silently; an operator who misspells a filter must hear about it, not get unfiltered rows).
 */
function rejectUnknownQuery(schema: FastifySchema) {
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

/** Streams CSV rows: the header, then one line per view; ends the response on an error (logged by ID). */
function csvStream(views: AsyncIterable<DeliveryRecordView>, logger: Logger, what: string): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield CSV_HEADER;
    let chunk: string[] = [];
    for await (const v of views) {
      chunk.push(csvLine(v));
      if (chunk.length >= 500) {
        yield chunk.join('');
        chunk = [];
      }
    }
    if (chunk.length > 0) yield chunk.join('');
  }
  const stream = Readable.from(lines(), { objectMode: false });
  stream.on('error', (error) => logger.error({ err: error, export: what }, 'CSV export failed part-way'));
  return stream;
}

function idStream(ids: AsyncIterable<string>): Readable {
  async function* lines(): AsyncGenerator<string> {
    let chunk: string[] = [];
    for await (const id of ids) {
      chunk.push(id);
      if (chunk.length >= 2_000) {
        yield `${chunk.join('\n')}\n`;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
  }
  return Readable.from(lines(), { objectMode: false });
}

/** What the routes need. */
export interface RouteDeps {
  readonly queries: ReportQueries;
  readonly watcher: ChangeWatcher;
  readonly logger: Logger;
}

/** Registers the reporting routes on a platform fastify instance (created with operator sign-in). */
export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { queries, watcher, logger } = deps;
  const documented: DocumentedRoute[] = [];
  // Reading reports, CSVs, IDs and live updates is the viewer role's.
  const config = { role: 'viewer' } as const;

  const api = <Q extends Query = Query, P = { id: string }>(
    url: string,
    doc: { summary: string; description?: string; tags: string[]; produces?: string },
    schema: FastifySchema,
    handler: (request: FastifyRequest<{ Querystring: Q; Params: P }>, reply: FastifyReply) => Promise<unknown>,
  ) => {
    documented.push({ method: 'get', url, schema, ...doc });
    app.get<{ Querystring: Q; Params: P }>(url, { config, schema, preValidation: rejectUnknownQuery(schema) }, handler);
  };

  // ---- Delivery Report (one communication) ----

  const recordListSchema = {
    params: COMMUNICATION_PARAMS,
    querystring: query({ ...PAGE_PROPS, ...RECORD_FILTER_PROPS }),
    response: {
      200: {
        type: 'object',
        properties: {
          communicationId: { type: 'string' },
          total: { type: 'integer', description: 'Every record of the communication.' },
          matching: {
            type: ['integer', 'null'],
            description: 'Records matching the filters; null when only a scan could tell.',
          },
          counts: COUNTS_SCHEMA,
          responses: { type: 'object', additionalProperties: { type: 'integer' } },
          records: { type: 'array', items: RECORD_SCHEMA },
          nextCursor: { type: ['string', 'null'] },
        },
      },
      '4xx': ERROR_SCHEMA,
    },
  };
  api(
    '/api/v1/communications/:id/delivery-records',
    {
      summary: 'One page of a communication’s delivery records, with counts per status and per response',
      description:
        'Records in ID order; cursor paging (index communicationId_id, or communicationId_status_id / communicationId_response_id when filtered).',
      tags: ['Delivery Report'],
    },
    recordListSchema,
    async (request) => {
      const q = request.query;
      const page = await queries.list({
        communicationId: request.params.id,
        limit: Number(q['limit'] ?? DEFAULT_LIMIT),
        cursor: q['cursor'] as string | undefined,
        filters: recordFiltersOf(q),
      });
      return {
        communicationId: page.communicationId,
        total: page.total,
        matching: page.matching,
        counts: page.counts,
        responses: page.responses,
        records: page.records.map(recordJson),
        nextCursor: page.nextCursor ?? null,
      };
    },
  );

  api(
    '/api/v1/communications/:id/delivery-record-ids',
    {
      summary: 'IDs of every record matching the filters (Copy IDs), one per line',
      tags: ['Delivery Report'],
      produces: 'text/plain',
    },
    { params: COMMUNICATION_PARAMS, querystring: query(RECORD_FILTER_PROPS) },
    async (request, reply) => {
      const ids = queries.ids(request.params.id, recordFiltersOf(request.query));
      return reply.headers({ 'cache-control': 'no-store' }).type('text/plain; charset=utf-8').send(idStream(ids));
    },
  );

  api(
    '/api/v1/communications/:id/delivery-records.csv',
    { summary: 'CSV of every record matching the filters (streamed)', tags: ['Delivery Report'], produces: 'text/csv' },
    { params: COMMUNICATION_PARAMS, querystring: query(RECORD_FILTER_PROPS) },
    async (request, reply) => {
      const filters = recordFiltersOf(request.query);
      const q: RecordQuery = { communicationId: request.params.id, ...filters };
      const rows = queries.rows(q);
      return reply
        .headers({
          'cache-control': 'no-store',
          'content-disposition': `attachment; filename="delivery-report-${request.params.id}.csv"`,
        })
        .type('text/csv; charset=utf-8')
        .send(csvStream(rows, logger, request.params.id));
    },
  );

  api(
    '/api/v1/communications/:id/live',
    {
      summary: 'Live updates (server-sent events): `change` events with changed records and counts',
      description:
        'Each `change` event carries {counts, total, responses, records}. Polls the store, so it sees every replica’s writes. Reconnects resume from Last-Event-ID.',
      tags: ['Delivery Report'],
      produces: 'text/event-stream',
    },
    { params: COMMUNICATION_PARAMS, querystring: query({ since: DATE }) },
    async (request, reply) => {
      const lastEventId = request.headers['last-event-id'];
      const sinceRaw = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : request.query['since'];
      const since = sinceRaw === undefined ? new Date() : (parseDate(sinceRaw, 'from') ?? new Date());
      const communicationId = request.params.id;
      // Validates the ID before the stream opens (a bad one is a plain 400).
      const initial = await queries.counts(communicationId);
      const headers = {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      };
      // HEAD gets the stream's headers and no stream (it would otherwise stay open forever).
      if (request.method === 'HEAD') return reply.code(200).headers(headers).send();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { ...headers, connection: 'keep-alive' });
      const send = (event: string, data: unknown, id?: string) =>
        res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      res.write('retry: 2000\n\n');
      send('change', { counts: initial.status, total: initial.total, responses: initial.response, records: [] });
      const stop = watcher.watch(
        communicationId,
        (batch) => {
          const newest = batch.records.reduce((t, r) => Math.max(t, r.updatedAt.getTime()), 0);
          send(
            'change',
            {
              counts: batch.counts.status,
              total: batch.counts.total,
              responses: batch.counts.response,
              records: batch.records.map(recordJson),
            },
            newest > 0 ? new Date(newest).toISOString() : undefined,
          );
        },
        since,
      );
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      heartbeat.unref();
      request.raw.once('close', () => {
        clearInterval(heartbeat);
        stop();
      });
    },
  );

  api(
    '/api/v1/delivery-records/:id',
    { summary: 'One delivery record and its timeline (the first 10 and last 40 events)', tags: ['Delivery Report'] },
    {
      params: COMMUNICATION_PARAMS,
      querystring: query({}),
      response: {
        200: {
          type: 'object',
          properties: {
            record: RECORD_SCHEMA,
            timeline: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  eventId: { type: 'string' },
                  status: { type: 'string' },
                  statusLabel: { type: 'string' },
                  source: { type: 'string' },
                  provider: { type: 'string' },
                  providerEventType: { type: 'string' },
                  providerMessageId: { type: 'string' },
                  reasonCode: { type: 'string' },
                  reasonText: { type: 'string' },
                  attempt: { type: 'integer' },
                  response: { type: 'string' },
                  occurredAt: { type: ['string', 'null'] },
                  receivedAt: { type: 'string' },
                },
              },
            },
          },
        },
        '4xx': ERROR_SCHEMA,
      },
    },
    async (request) => {
      const { record, timeline } = await queries.get(request.params.id);
      return { record: recordJson(record), timeline: timeline.map(timelineJson) };
    },
  );

  // ---- Message Delivery Report (across communications) ----

  const messageSchema = {
    querystring: query({ ...PAGE_PROPS, ...MESSAGE_FILTER_PROPS }),
    response: {
      200: {
        type: 'object',
        properties: {
          total: { type: 'integer' },
          totals: {
            type: 'array',
            items: {
              type: 'object',
              properties: { channel: { type: 'string' }, status: { type: 'string' }, count: { type: 'integer' } },
            },
          },
          records: { type: 'array', items: RECORD_SCHEMA },
          nextCursor: { type: ['string', 'null'] },
        },
      },
      '4xx': ERROR_SCHEMA,
    },
  };
  api<Query, unknown>(
    '/api/v1/message-delivery-report',
    {
      summary: 'Message Delivery Report: totals per channel × status and one page of records',
      description:
        'Filters: date range (record created), communication, channel, status. Index createdAt_id or communicationId_id.',
      tags: ['Message Delivery Report'],
    },
    messageSchema,
    async (request) => {
      const page = await queries.messages({
        filters: messageFiltersOf(request.query),
        limit: Number(request.query['limit'] ?? DEFAULT_LIMIT),
        cursor: request.query['cursor'] as string | undefined,
      });
      return {
        total: page.total,
        totals: page.totals,
        records: page.records.map(recordJson),
        nextCursor: page.nextCursor ?? null,
      };
    },
  );

  api<Query, unknown>(
    '/api/v1/message-delivery-report.csv',
    {
      summary: 'CSV of every record matching the filters (streamed)',
      tags: ['Message Delivery Report'],
      produces: 'text/csv',
    },
    { querystring: query(MESSAGE_FILTER_PROPS) },
    async (request, reply) => {
      const filters = messageFiltersOf(request.query);
      if (filters.from && filters.to && filters.from.getTime() >= filters.to.getTime()) {
        throw new InvalidArgumentError('from must be before to');
      }
      return reply
        .headers({
          'cache-control': 'no-store',
          'content-disposition': 'attachment; filename="message-delivery-report.csv"',
        })
        .type('text/csv; charset=utf-8')
        .send(csvStream(queries.rows(filters), logger, 'message-delivery-report'));
    },
  );

  app.get('/api/v1/openapi.json', { config }, async () => buildOpenApi(documented));

  // ---- HTML ----

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
      const page = await queries.list({
        communicationId: request.params.id,
        limit: HTML_REPORT_LIMIT,
        cursor: request.query['cursor'] as string | undefined,
        filters,
      });
      return html(
        reply,
        renderDeliveryReport(page, {
          filterQuery: filterQuery(recordFilterQuery(filters)),
          firstPage: request.query['cursor'] === undefined,
          limit: HTML_REPORT_LIMIT,
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

/** Channels, for forms. */
export const CHANNELS: readonly ChannelKey[] = ['email', 'sms'];
/** Status keys, for forms. */
export const STATUS_OPTIONS: readonly StatusKey[] = STATUS_KEYS;
