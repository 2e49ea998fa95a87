import { Channel } from '@dlr/contracts';
import type { RawCallback } from './ingest.js';
import {
  asObject,
  fromIso,
  ID_FIELDS,
  isCorrelationProblem,
  parseJson,
  readCorrelation,
  reasonText,
  status,
  type ParseResult,
  type ProviderEvent,
  type StatusMapping,
} from './provider-event.js';
import { parseSnsMessage, type SnsMessage } from './sns.js';

/** The provider name of Amazon SES (events via SNS). */
export const SES = 'ses';

const SUPPRESSED_SUBTYPES = new Set(['Suppressed', 'OnAccountSuppressionList']);

/**
 * Maps an SES event (SPEC §2): Send → Sent; Reject, Rendering Failure → Not Sent; Bounce
 * Transient/Undetermined, DeliveryDelay → Bounced Temporarily; Delivery → Delivered; Open → Read;
 * Bounce Permanent, Complaint (not `not-spam`) → Failed; Subscription with unsubscribeAll →
 * Opted-out. Anything else (Click, …) is unmapped.
 */
export function mapSesEvent(type: string, detail: Record<string, unknown>): StatusMapping | undefined {
  switch (type) {
    case 'Send':
      return status.sent;
    case 'Reject':
    case 'Rendering Failure':
      return status.notSent('provider_rejected');
    case 'Bounce': {
      const bounceType = detail['bounceType'];
      if (bounceType === 'Permanent')
        return status.failed(
          SUPPRESSED_SUBTYPES.has(String(detail['bounceSubType'])) ? 'suppressed' : 'permanent_bounce',
        );
      return bounceType === 'Transient' || bounceType === 'Undetermined' ? status.temporaryBounce : undefined;
    }
    case 'DeliveryDelay':
      return status.temporaryBounce;
    case 'Delivery':
      return status.delivered;
    case 'Open':
      return status.read;
    case 'Complaint':
      return detail['complaintFeedbackType'] === 'not-spam' ? undefined : status.failed('complaint');
    case 'Subscription': {
      const prefs = asObject(detail['newTopicPreferences']);
      return prefs?.['unsubscribeAll'] === true ? status.optedOut : undefined;
    }
    default:
      return undefined;
  }
}

/** The key of each event type's detail object in an SES event record. */
const DETAIL_KEY: Readonly<Record<string, string>> = {
  Send: 'send',
  Reject: 'reject',
  'Rendering Failure': 'failure',
  Bounce: 'bounce',
  DeliveryDelay: 'deliveryDelay',
  Delivery: 'delivery',
  Open: 'open',
  Click: 'click',
  Complaint: 'complaint',
  Subscription: 'subscription',
};

function sesReason(type: string, detail: Record<string, unknown>): string {
  switch (type) {
    case 'Bounce': {
      const first = asObject(Array.isArray(detail['bouncedRecipients']) ? detail['bouncedRecipients'][0] : undefined);
      return reasonText(
        first?.['diagnosticCode'] ?? `${String(detail['bounceType'])}/${String(detail['bounceSubType'])}`,
      );
    }
    case 'Reject':
      return reasonText(detail['reason']);
    case 'Rendering Failure':
      return reasonText(detail['errorMessage']);
    case 'DeliveryDelay':
      return reasonText(detail['delayType']);
    case 'Complaint':
      return reasonText(detail['complaintFeedbackType']);
    case 'Delivery':
      return reasonText(detail['smtpResponse']);
    default:
      return '';
  }
}

/**
 * Reads the SES event inside a verified SNS Notification: the event ID is the SNS MessageId, our
 * IDs come from `mail.tags` (`delivery_id`, `communication_id`, `attempt`), the provider message
 * ID is `mail.messageId`. A problem list when the SES record is malformed.
 */
export function sesEvents(notification: SnsMessage, body: string): ParseResult {
  const json = parseJson(notification.Message);
  const record = json.ok ? asObject(json.value) : undefined;
  if (!record) return { ok: false, problems: ['Message: not a JSON object'] };
  // Without a configuration set SES names the field notificationType (bounce/complaint/delivery notifications).
  const type = record['eventType'] ?? record['notificationType'];
  if (typeof type !== 'string' || type === '') return { ok: false, problems: ['Message.eventType: required'] };
  const mail = asObject(record['mail']);
  if (!mail) return { ok: false, problems: ['Message.mail: required object'] };
  const detail = asObject(record[DETAIL_KEY[type] ?? type.toLowerCase()]) ?? {};
  const mapping = mapSesEvent(type, detail);
  const tags = asObject(mail['tags']) ?? {};
  const tag = (name: string) => {
    const values = tags[name];
    const value: unknown = Array.isArray(values) ? values[0] : undefined;
    // Dispatch sends a value outside SES's tag charset as `b64_` + base64url (our IDs never need it).
    return typeof value === 'string' && value.startsWith('b64_')
      ? Buffer.from(value.slice(4), 'base64url').toString('utf8')
      : value;
  };
  const correlation = readCorrelation(
    tag(ID_FIELDS.deliveryId),
    tag(ID_FIELDS.communicationId),
    tag(ID_FIELDS.attempt),
  );
  if (isCorrelationProblem(correlation))
    return { ok: false, problems: correlation.problems.map((p) => `mail.tags.${p}`) };
  const messageId = typeof mail['messageId'] === 'string' ? mail['messageId'] : '';
  const event: ProviderEvent = {
    provider: SES,
    eventId: notification.MessageId,
    type,
    body,
    mapping,
    correlation,
    providerMessageId: messageId,
    occurredAt: fromIso(detail['timestamp']) ?? fromIso(mail['timestamp']) ?? fromIso(notification.Timestamp),
    reasonText: sesReason(type, detail),
    channel: Channel.CHANNEL_EMAIL,
  };
  return { ok: true, events: [event] };
}

/** Reads a stored SES callback (the SNS Notification body) back into its event. */
export function reparseSes(raw: RawCallback): ProviderEvent | undefined {
  const sns = parseSnsMessage(raw.body);
  if (!sns.ok) return undefined;
  const parsed = sesEvents(sns.message, raw.body);
  return parsed.ok ? parsed.events[0] : undefined;
}
