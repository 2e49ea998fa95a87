import { createHmac, timingSafeEqual } from 'node:crypto';
import { Channel } from '@dlr/contracts';
import type { RawCallback } from './ingest.js';
import {
  asObject,
  fromEpochSeconds,
  ID_FIELDS,
  isCorrelationProblem,
  isEventId,
  parseJson,
  readCorrelation,
  reasonText,
  status,
  type ParseResult,
  type ProviderEvent,
  type StatusMapping,
} from './provider-event.js';

/** The provider name of Mailgun. */
export const MAILGUN = 'mailgun';

/** A Mailgun webhook body read far enough to check its signature. */
export interface MailgunEnvelope {
  readonly signature: { readonly timestamp: string; readonly token: string; readonly signature: string };
  readonly eventData: Record<string, unknown>;
}

/** Reads the `signature` and `event-data` objects of a webhook body. Never throws. */
export function parseMailgunEnvelope(
  body: string,
): { ok: true; envelope: MailgunEnvelope } | { ok: false; problems: string[] } {
  const json = parseJson(body);
  const o = json.ok ? asObject(json.value) : undefined;
  if (!o) return { ok: false, problems: ['body: not a JSON object'] };
  const sig = asObject(o['signature']);
  const eventData = asObject(o['event-data']);
  const problems: string[] = [];
  const timestamp = sig?.['timestamp'];
  const token = sig?.['token'];
  const signature = sig?.['signature'];
  if (typeof timestamp !== 'string' && typeof timestamp !== 'number') problems.push('signature.timestamp: required');
  if (typeof token !== 'string' || token === '') problems.push('signature.token: required');
  if (typeof signature !== 'string' || signature === '') problems.push('signature.signature: required');
  if (!eventData) problems.push('event-data: required object');
  if (problems.length > 0 || !eventData) return { ok: false, problems };
  return {
    ok: true,
    envelope: {
      signature: { timestamp: String(timestamp), token: String(token), signature: String(signature) },
      eventData,
    },
  };
}

/**
 * Verifies a webhook signature: hex HMAC-SHA256(signing key, timestamp + token), compared in
 * constant time, with the timestamp within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyMailgunSignature(
  signingKey: string,
  sig: MailgunEnvelope['signature'],
  nowSeconds: number,
  toleranceSeconds: number,
): boolean {
  if (!/^\d{1,12}$/.test(sig.timestamp) || Math.abs(nowSeconds - Number(sig.timestamp)) > toleranceSeconds)
    return false;
  const expected = createHmac('sha256', signingKey)
    .update(sig.timestamp + sig.token)
    .digest();
  const given = Buffer.from(sig.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Where the signature tokens seen within the timestamp window are remembered, shared by every
 * replica (the signature covers only timestamp + token, so a replayed token could carry any body).
 */
export interface MailgunTokenLedger {
  /** True the first time `token` is claimed within the window, false after; throws when the store is down. */
  claim(token: string): Promise<boolean>;
}

/**
 * Checks a webhook's signature ({@link verifyMailgunSignature}) and then that its token was not used
 * before within the window: `'ok'`, `'bad_signature'` or `'replayed'`. Throws when the ledger is down.
 */
export async function checkMailgunWebhook(
  signingKey: string,
  sig: MailgunEnvelope['signature'],
  nowSeconds: number,
  toleranceSeconds: number,
  tokens: MailgunTokenLedger,
): Promise<'ok' | 'bad_signature' | 'replayed'> {
  if (!verifyMailgunSignature(signingKey, sig, nowSeconds, toleranceSeconds)) return 'bad_signature';
  return (await tokens.claim(sig.token)) ? 'ok' : 'replayed';
}

/**
 * Maps a Mailgun event (SPEC §2): accepted → Sent; rejected → Not Sent; failed temporary →
 * Bounced Temporarily; delivered → Delivered; opened → Read; failed permanent, complained →
 * Failed; unsubscribed → Opted-out. Anything else (clicked, stored, …) is unmapped.
 */
export function mapMailgunEvent(e: Record<string, unknown>): StatusMapping | undefined {
  switch (e['event']) {
    case 'accepted':
      return status.sent;
    case 'rejected':
      return status.notSent('provider_rejected');
    case 'failed':
      if (e['severity'] === 'temporary') return status.temporaryBounce;
      if (e['severity'] !== 'permanent') return undefined;
      return status.failed(
        typeof e['reason'] === 'string' && e['reason'].startsWith('suppress-') ? 'suppressed' : 'permanent_bounce',
      );
    case 'delivered':
      return status.delivered;
    case 'opened':
      return status.read;
    case 'complained':
      return status.failed('complaint');
    case 'unsubscribed':
      return status.optedOut;
    default:
      return undefined;
  }
}

function mailgunReason(e: Record<string, unknown>): string {
  const ds = asObject(e['delivery-status']);
  const reject = asObject(e['reject']);
  const words = [ds?.['description'], ds?.['message'], reject?.['reason'], e['reason']].find(
    (w) => typeof w === 'string' && w !== '',
  );
  return reasonText(words);
}

/**
 * Reads the `event-data` of a verified webhook: the event ID is `event-data.id`, our IDs come
 * from `user-variables`, the provider message ID from `message.headers.message-id`.
 */
export function mailgunEvents(envelope: MailgunEnvelope, body: string): ParseResult {
  const e = envelope.eventData;
  const type = e['event'];
  if (typeof type !== 'string' || type === '') return { ok: false, problems: ['event-data.event: required'] };
  if (!isEventId(e['id'])) return { ok: false, problems: ['event-data.id: required'] };
  const vars = asObject(e['user-variables']) ?? {};
  const correlation = readCorrelation(
    vars[ID_FIELDS.deliveryId],
    vars[ID_FIELDS.communicationId],
    vars[ID_FIELDS.attempt],
  );
  if (isCorrelationProblem(correlation))
    return { ok: false, problems: correlation.problems.map((p) => `event-data.user-variables.${p}`) };
  const headers = asObject(asObject(e['message'])?.['headers']);
  const messageId = headers?.['message-id'];
  const event: ProviderEvent = {
    provider: MAILGUN,
    eventId: e['id'],
    type,
    body,
    mapping: mapMailgunEvent(e),
    correlation,
    providerMessageId: typeof messageId === 'string' ? messageId : '',
    occurredAt: fromEpochSeconds(e['timestamp']),
    reasonText: mailgunReason(e),
    channel: Channel.CHANNEL_EMAIL,
  };
  return { ok: true, events: [event] };
}

/** Reads a stored Mailgun callback back into its event. */
export function reparseMailgun(raw: RawCallback): ProviderEvent | undefined {
  const envelope = parseMailgunEnvelope(raw.body);
  const parsed = envelope.ok ? mailgunEvents(envelope.envelope, raw.body) : undefined;
  return parsed?.ok ? parsed.events[0] : undefined;
}
