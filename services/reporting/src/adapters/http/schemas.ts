// JSON schemas of the reporting routes' parameters and answers (fastify validates with them; the
// OpenAPI document is built from them).
import { STATUS_KEYS } from '@dlr/status-engine';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_RESPONSE, MAX_SEARCH } from '../../domain/report-queries.js';

/** One of our IDs. */
export const ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } as const;
/** A date or a date-time with offset (read by `parseDate`). */
export const DATE = {
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
/** Filters of the Delivery Report. */
export const RECORD_FILTER_PROPS = {
  ...FILTER_PROPS,
  response: { type: 'string', maxLength: MAX_RESPONSE, description: 'Exactly this response option.' },
  q: {
    type: 'string',
    maxLength: MAX_SEARCH,
    description: "Text in the recipient's name or address (case-insensitive).",
  },
} as const;
/** Cursor paging. */
export const PAGE_PROPS = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
  cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'nextCursor of the previous page.' },
} as const;
/** Filters of the Message Delivery Report. */
export const MESSAGE_FILTER_PROPS = {
  ...FILTER_PROPS,
  communicationId: ID,
  from: { ...DATE, description: `Created at or after. ${DATE.description}` },
  to: { ...DATE, description: `Created before (a date: up to the end of that day). ${DATE.description}` },
} as const;

/** A query string of exactly these parameters. */
export function query(properties: Record<string, unknown>) {
  return { type: 'object', additionalProperties: false, properties } as const;
}
/** The `:id` path parameter. */
export const COMMUNICATION_PARAMS = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: ID },
};
const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'string' } },
  },
};
/** The error answers every API route may give (all with {@link ERROR_SCHEMA}). */
const ERROR_RESPONSES = {
  400: { description: 'Invalid input (unknown parameter, bad value); nothing was read.', ...ERROR_SCHEMA },
  401: { description: 'Not signed in.', ...ERROR_SCHEMA },
  403: { description: 'Signed in without the viewer role.', ...ERROR_SCHEMA },
  404: { description: 'No such communication or record.', ...ERROR_SCHEMA },
  405: { description: 'Method not allowed on this path (see the Allow header).', ...ERROR_SCHEMA },
} as const;
/** A 200 answer that is not JSON: its media type and what it holds. */
export function textAnswer(
  mediaType: string,
  description: string,
  schema: Record<string, unknown> = { type: 'string' },
) {
  return { 200: { description, content: { [mediaType]: { schema } } }, ...ERROR_RESPONSES };
}
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

const NEXT_CURSOR = {
  type: ['string', 'null'],
  pattern: PAGE_PROPS.cursor.pattern,
  description: 'Pass as `cursor` for the next page; null on the last page.',
} as const;
/** The `data` of an SSE `change` event: counts after the change and the records that changed. */
export const CHANGE_EVENT_SCHEMA = {
  type: 'object',
  required: ['counts', 'total', 'responses', 'records'],
  properties: {
    counts: COUNTS_SCHEMA,
    total: { type: 'integer' },
    responses: { type: 'object', additionalProperties: { type: 'integer' } },
    records: { type: 'array', items: RECORD_SCHEMA },
  },
};

/** One page of a communication's records. */
export const RECORD_LIST_SCHEMA = {
  params: COMMUNICATION_PARAMS,
  querystring: query({ ...PAGE_PROPS, ...RECORD_FILTER_PROPS }),
  response: {
    200: {
      type: 'object',
      properties: {
        communicationId: { type: 'string' },
        title: { type: 'string', description: 'The communication’s title; empty until reporting has heard it.' },
        total: { type: 'integer', description: 'Every record of the communication.' },
        matching: {
          type: ['integer', 'null'],
          description: 'Records matching the filters; null when only a scan could tell.',
        },
        counts: COUNTS_SCHEMA,
        responses: { type: 'object', additionalProperties: { type: 'integer' } },
        records: { type: 'array', items: RECORD_SCHEMA },
        nextCursor: { ...NEXT_CURSOR },
      },
    },
    ...ERROR_RESPONSES,
  },
};

/** One record and its timeline. */
export const RECORD_DETAIL_SCHEMA = {
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
    ...ERROR_RESPONSES,
  },
};

/** One page of the Message Delivery Report. */
export const MESSAGE_REPORT_SCHEMA = {
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
        nextCursor: { ...NEXT_CURSOR },
        titles: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Titles of the communications on the page (and in the filter), by communication ID.',
        },
      },
    },
    ...ERROR_RESPONSES,
  },
};
