// The downloads: CSV of either report and the Delivery Report's IDs (Copy IDs), streamed.
import { Readable } from 'node:stream';
import { InvalidArgumentError, type Logger } from '@dlr/platform';
import type { DeliveryRecordView } from '../../domain/report-queries.js';
import type { RecordQuery } from '../../domain/reads.js';
import { csvLine, CSV_HEADER } from './csv.js';
import { messageFiltersOf, recordFiltersOf, type ApiRoute, type Query, type RouteDeps } from './request.js';
import { COMMUNICATION_PARAMS, MESSAGE_FILTER_PROPS, query, RECORD_FILTER_PROPS, textAnswer } from './schemas.js';

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

/** Registers the ID list and the two CSV exports. */
export function registerExports(api: ApiRoute, deps: RouteDeps): void {
  const { queries, logger } = deps;

  api(
    '/api/v1/communications/:id/delivery-record-ids',
    {
      summary: 'IDs of every record matching the filters (Copy IDs), one per line',
      tags: ['Delivery Report'],
    },
    {
      params: COMMUNICATION_PARAMS,
      querystring: query(RECORD_FILTER_PROPS),
      response: textAnswer('text/plain', 'Record IDs, one per line, in ID order.'),
    },
    async (request, reply) => {
      const ids = queries.ids(request.params.id, recordFiltersOf(request.query));
      return reply.headers({ 'cache-control': 'no-store' }).type('text/plain; charset=utf-8').send(idStream(ids));
    },
  );

  api(
    '/api/v1/communications/:id/delivery-records.csv',
    { summary: 'CSV of every record matching the filters (streamed)', tags: ['Delivery Report'] },
    {
      params: COMMUNICATION_PARAMS,
      querystring: query(RECORD_FILTER_PROPS),
      response: textAnswer('text/csv', `CSV with the header line: ${CSV_HEADER.trim()}`),
    },
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

  api<Query, unknown>(
    '/api/v1/message-delivery-report.csv',
    {
      summary: 'CSV of every record matching the filters (streamed)',
      tags: ['Message Delivery Report'],
    },
    {
      querystring: query(MESSAGE_FILTER_PROPS),
      response: textAnswer('text/csv', `CSV with the header line: ${CSV_HEADER.trim()}`),
    },
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
}
