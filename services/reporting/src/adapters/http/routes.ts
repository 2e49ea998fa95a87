// REST API and the HTML Delivery Report.
import { InvalidArgumentError } from '@dlr/platform';
import { STATUSES } from '@dlr/status-engine';
import type { FastifyInstance } from 'fastify';
import type { TimelineEntry } from '../../domain/model.js';
import { parseLimit, type DeliveryRecordView, type ReportQueries } from '../../queries.js';
import { renderDeliveryReport } from './html.js';

/** Records the HTML report shows. */
export const HTML_REPORT_LIMIT = 500;

function recordJson(r: DeliveryRecordView) {
  return {
    id: r.id,
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

/** One query-string value, or undefined; throws an {@link InvalidArgumentError} when given twice. */
function single(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new InvalidArgumentError(`${name} must be given once`);
}

/** Registers the reporting routes on a platform fastify instance. */
export function registerRoutes(app: FastifyInstance, queries: ReportQueries): void {
  app.get<{ Params: { id: string } }>('/api/v1/communications/:id/delivery-records', async (request) => {
    const page = await queries.list({
      communicationId: request.params.id,
      limit: parseLimit(single(request.query, 'limit')),
      cursor: single(request.query, 'cursor'),
    });
    return {
      communicationId: page.communicationId,
      total: page.total,
      counts: page.counts,
      records: page.records.map(recordJson),
      nextCursor: page.nextCursor ?? null,
    };
  });

  app.get<{ Params: { id: string } }>('/api/v1/delivery-records/:id', async (request) => {
    const { record, timeline } = await queries.get(request.params.id);
    return {
      record: { ...recordJson(record), communicationId: record.communicationId },
      timeline: timeline.map(timelineJson),
    };
  });

  app.get<{ Params: { id: string } }>('/communications/:id', async (request, reply) => {
    const page = await queries.list({
      communicationId: request.params.id,
      limit: HTML_REPORT_LIMIT,
      cursor: undefined,
    });
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderDeliveryReport(page, `/communications/${encodeURIComponent(page.communicationId)}`));
  });
}
