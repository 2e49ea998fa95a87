// The JSON REST API under /api/v1 and its live updates (server-sent events).
import { STATUSES } from '@dlr/status-engine';
import type { TimelineEntry } from '../../domain/model.js';
import { DEFAULT_LIMIT, type DeliveryRecordView } from '../../domain/report-queries.js';
import { messageFiltersOf, parseDate, recordFiltersOf, type ApiRoute, type Query, type RouteDeps } from './request.js';
import {
  COMMUNICATION_PARAMS,
  DATE,
  MESSAGE_REPORT_SCHEMA,
  query,
  RECORD_DETAIL_SCHEMA,
  RECORD_LIST_SCHEMA,
  textAnswer,
  CHANGE_EVENT_SCHEMA,
} from './schemas.js';

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

/** Registers the JSON routes of both reports and the live-update stream. */
export function registerApi(api: ApiRoute, deps: RouteDeps): void {
  const { queries, watcher } = deps;

  api(
    '/api/v1/communications/:id/delivery-records',
    {
      summary: 'One page of a communication’s delivery records, with counts per status and per response',
      description:
        'Records in ID order; cursor paging (index communicationId_id, or communicationId_status_id / communicationId_response_id when filtered).',
      tags: ['Delivery Report'],
    },
    RECORD_LIST_SCHEMA,
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
        title: page.title,
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
    '/api/v1/communications/:id/live',
    {
      summary: 'Live updates (server-sent events): `change` events with changed records and counts',
      description:
        'Each `change` event carries {counts, total, responses, records}. Polls the store, so it sees every replica’s writes. Reconnects resume from Last-Event-ID.',
      tags: ['Delivery Report'],
    },
    {
      params: COMMUNICATION_PARAMS,
      querystring: query({ since: { ...DATE, description: `Changes after this time. ${DATE.description}` } }),
      response: textAnswer(
        'text/event-stream',
        'Server-sent events: `retry: 2000`, then `event: change` frames whose `id` is the newest change time (ISO 8601, for Last-Event-ID) and whose `data` is one JSON object as in the schema; `: keep-alive` comments every 15 s.',
        { type: 'string', contentMediaType: 'application/json', contentSchema: CHANGE_EVENT_SCHEMA },
      ),
    },
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
    RECORD_DETAIL_SCHEMA,
    async (request) => {
      const { record, timeline } = await queries.get(request.params.id);
      return { record: recordJson(record), timeline: timeline.map(timelineJson) };
    },
  );

  api<Query, unknown>(
    '/api/v1/message-delivery-report',
    {
      summary: 'Message Delivery Report: totals per channel × status and one page of records',
      description:
        'Filters: date range (the date sent: the first Sent / Not Sent from dispatch; records not sent yet match no range), communication, channel, status. Index sentAt_id or communicationId_id.',
      tags: ['Message Delivery Report'],
    },
    MESSAGE_REPORT_SCHEMA,
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
        titles: Object.fromEntries(page.titles),
      };
    },
  );
}
