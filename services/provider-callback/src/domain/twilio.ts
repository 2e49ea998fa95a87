import { createHmac, timingSafeEqual } from 'node:crypto';
import { Channel } from '@dlr/contracts';
import type { RawCallback } from './ingest.js';
import {
  isCorrelationProblem,
  isEventId,
  readCorrelation,
  reasonText,
  status,
  type ParseResult,
  type ProviderEvent,
  type StatusMapping,
} from './provider-event.js';
import { mapTwilioFailure } from './twilio-codes.js';

/** The provider name of Twilio (SMS). */
export const TWILIO = 'twilio';

/** Form parameters of a request, every value of each name. */
export type FormParams = ReadonlyMap<string, readonly string[]>;

/** Reads an `application/x-www-form-urlencoded` body (or query string). */
export function parseForm(text: string): FormParams {
  const out = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(text)) out.set(k, [...(out.get(k) ?? []), v]);
  return out;
}

/**
 * The `X-Twilio-Signature` of a request: base64 HMAC-SHA1(auth token, full URL + each POST
 * parameter name followed by its value, names sorted, a repeated name's distinct values sorted).
 */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = url;
  for (const name of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(name))].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** Checks `X-Twilio-Signature` in constant time. */
export function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: FormParams,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Maps a Twilio message status (SPEC §2): sent → Sent; canceled → Not Sent; delivered → Delivered;
 * failed and undelivered by their `ErrorCode` (see {@link mapTwilioFailure}, docs/twilio-error-codes.md).
 * queued/sending/accepted/scheduled/read change nothing (unmapped).
 */
export function mapTwilioStatus(messageStatus: string, errorCode?: string): StatusMapping | undefined {
  switch (messageStatus) {
    case 'sent':
      return status.sent;
    case 'canceled':
      return status.notSent('provider_rejected');
    case 'delivered':
      return status.delivered;
    case 'failed':
    case 'undelivered':
      return mapTwilioFailure(messageStatus, errorCode);
    default:
      return undefined;
  }
}

const one = (p: FormParams, name: string) => p.get(name)?.[0];

/**
 * Reads a verified status callback: the event ID is `<MessageSid>:<MessageStatus>` (Twilio's
 * dedupe pair), our IDs come from our own query string (`d`, `c`, `a`).
 */
export function twilioEvents(form: string, query: string): ParseResult {
  const params = parseForm(form);
  const sid = one(params, 'MessageSid') ?? one(params, 'SmsSid');
  const messageStatus = one(params, 'MessageStatus') ?? one(params, 'SmsStatus');
  const problems: string[] = [];
  if (!sid || !/^[A-Za-z0-9]{2,64}$/.test(sid)) problems.push('MessageSid: required');
  if (!messageStatus || !/^[a-z_]{1,40}$/.test(messageStatus)) problems.push('MessageStatus: required');
  const q = parseForm(query);
  const correlation = readCorrelation(one(q, 'd'), one(q, 'c'), one(q, 'a'));
  if (isCorrelationProblem(correlation)) problems.push(...correlation.problems.map((p) => `query ${p}`));
  const eventId = `${sid ?? ''}:${messageStatus ?? ''}`;
  if (problems.length > 0 || !sid || !messageStatus || !isEventId(eventId) || isCorrelationProblem(correlation))
    return { ok: false, problems };
  const errorCode = one(params, 'ErrorCode');
  const errorMessage = one(params, 'ErrorMessage');
  const words = [errorCode ? `ErrorCode ${errorCode}` : '', errorMessage ?? ''].filter(Boolean).join(': ');
  const event: ProviderEvent = {
    provider: TWILIO,
    eventId,
    type: messageStatus,
    body: form,
    query,
    mapping: mapTwilioStatus(messageStatus, errorCode),
    correlation,
    providerMessageId: sid,
    // Status callbacks carry no event time: the first receipt time stands for it.
    occurredAt: undefined,
    reasonText: reasonText(words),
    channel: Channel.CHANNEL_SMS,
  };
  return { ok: true, events: [event] };
}

/** Reads a stored Twilio callback (form body and our query string) back. */
export function reparseTwilio(raw: RawCallback): ProviderEvent | undefined {
  const parsed = twilioEvents(raw.body, raw.query ?? '');
  return parsed.ok ? parsed.events[0] : undefined;
}
