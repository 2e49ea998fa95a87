import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
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

/** The provider name of SendGrid. */
export const SENDGRID = 'sendgrid';

/** A custom arg name for our attempt that no SendGrid event field shadows (preferred over `attempt`). */
export const SENDGRID_ATTEMPT_ARG = 'dlr_attempt';

/**
 * Reads the Event Webhook verification key as SendGrid shows it (base64 of the DER public key),
 * or as PEM. Throws when it is not an EC P-256 public key.
 */
export function sendgridPublicKey(value: string): KeyObject {
  const key = value.includes('-----BEGIN')
    ? createPublicKey(value)
    : createPublicKey({ key: Buffer.from(value.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error('not an EC P-256 public key');
  return key;
}

/**
 * Verifies the Signed Event Webhook: ECDSA P-256/SHA-256 (DER, base64) over the timestamp header
 * followed by the raw body, with the timestamp within `toleranceSeconds` of `nowSeconds`.
 */
export function verifySendgridSignature(
  key: KeyObject,
  timestamp: string | undefined,
  signature: string | undefined,
  raw: Buffer,
  nowSeconds: number,
  toleranceSeconds: number,
): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  try {
    const sig = Buffer.from(signature, 'base64');
    if (sig.length === 0) return false;
    return verify('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), raw]), { key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

/**
 * Maps a SendGrid event (SPEC §2): processed → Sent; dropped → Not Sent; deferred, bounce of type
 * `blocked` → Bounced Temporarily; delivered → Delivered; open → Read; bounce, spamreport →
 * Failed; unsubscribe, group_unsubscribe → Opted-out. Anything else (click, …) is unmapped.
 */
export function mapSendgridEvent(e: Record<string, unknown>): StatusMapping | undefined {
  switch (e['event']) {
    case 'processed':
      return status.sent;
    case 'dropped': {
      const reason = typeof e['reason'] === 'string' ? e['reason'] : '';
      if (/invalid/i.test(reason)) return status.notSent('invalid_address');
      if (/bounced|unsubscribed|spam report|suppress/i.test(reason)) return status.notSent('suppressed');
      return status.notSent('provider_rejected');
    }
    case 'deferred':
      return status.temporaryBounce;
    case 'bounce':
      return e['type'] === 'blocked' ? status.temporaryBounce : status.failed('permanent_bounce');
    case 'delivered':
      return status.delivered;
    case 'open':
      return status.read;
    case 'spamreport':
      return status.failed('complaint');
    case 'unsubscribe':
    case 'group_unsubscribe':
      return status.optedOut;
    default:
      return undefined;
  }
}

function sendgridEvent(e: Record<string, unknown>, body: string): ProviderEvent | { problems: string[] } {
  const type = e['event'];
  if (typeof type !== 'string' || type === '') return { problems: ['event: required'] };
  // An event without sg_event_id (older dropped events) is named by a hash of its own JSON.
  const eventId = isEventId(e['sg_event_id'])
    ? e['sg_event_id']
    : `h-${createHash('sha256').update(body).digest('base64url').slice(0, 32)}`;
  // SendGrid's own `attempt` field (delivery tries of a deferred event) shadows a custom arg of that
  // name: read `dlr_attempt` when sent, and for a deferred event without it, match by message ID.
  const attempt = e[SENDGRID_ATTEMPT_ARG] ?? e[ID_FIELDS.attempt];
  const shadowed = type === 'deferred' && e[SENDGRID_ATTEMPT_ARG] === undefined;
  const correlation = shadowed
    ? undefined
    : readCorrelation(e[ID_FIELDS.deliveryId], e[ID_FIELDS.communicationId], attempt);
  if (isCorrelationProblem(correlation)) return { problems: [...correlation.problems] };
  return {
    provider: SENDGRID,
    eventId,
    type,
    body,
    mapping: mapSendgridEvent(e),
    correlation,
    providerMessageId: typeof e['sg_message_id'] === 'string' ? e['sg_message_id'] : '',
    occurredAt: fromEpochSeconds(e['timestamp']),
    reasonText: reasonText(e['reason'] ?? e['response']),
    channel: Channel.CHANNEL_EMAIL,
  };
}

/**
 * Reads a verified Event Webhook body (a JSON array): one event per element, each stored as its
 * own JSON. Our IDs are custom args (top-level `delivery_id`, `communication_id`, `attempt`).
 * The whole batch is refused when one element is malformed, so nothing of it is stored.
 */
export function sendgridEvents(body: string): ParseResult {
  const json = parseJson(body);
  if (!json.ok || !Array.isArray(json.value)) return { ok: false, problems: ['body: not a JSON array'] };
  if (json.value.length === 0) return { ok: false, problems: ['body: empty array'] };
  const events: ProviderEvent[] = [];
  const problems: string[] = [];
  json.value.forEach((item: unknown, i) => {
    const e = asObject(item);
    const read = e ? sendgridEvent(e, JSON.stringify(e)) : { problems: ['not an object'] };
    if ('problems' in read) problems.push(...read.problems.map((p) => `[${i}].${p}`));
    else events.push(read);
  });
  return problems.length > 0 ? { ok: false, problems: problems.slice(0, 20) } : { ok: true, events };
}

/** Reads a stored SendGrid event (one element's JSON) back. */
export function reparseSendgrid(raw: RawCallback): ProviderEvent | undefined {
  const json = parseJson(raw.body);
  const e = json.ok ? asObject(json.value) : undefined;
  const read = e ? sendgridEvent(e, raw.body) : undefined;
  return read && !('problems' in read) ? read : undefined;
}
