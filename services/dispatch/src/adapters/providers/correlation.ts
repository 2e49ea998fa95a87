import type { OutboundMessage } from '../../domain/provider.js';

/**
 * The names under which our IDs travel with a message, so provider callbacks can be matched to it:
 * SES message tags, SendGrid `custom_args`, Mailgun `v:` variables (all three: these names).
 */
export const CORRELATION_FIELDS = {
  deliveryId: 'delivery_id',
  communicationId: 'communication_id',
  attempt: 'attempt',
} as const;

/** Header fields carrying our IDs in SMTP email. */
export const CORRELATION_HEADERS = {
  deliveryId: 'X-DLR-Delivery-Id',
  communicationId: 'X-DLR-Communication-Id',
  attempt: 'X-DLR-Attempt',
} as const;

/** Our IDs of a message as name → string value, under {@link CORRELATION_FIELDS} or {@link CORRELATION_HEADERS}. */
export function correlation(
  message: OutboundMessage,
  names: typeof CORRELATION_FIELDS | typeof CORRELATION_HEADERS = CORRELATION_FIELDS,
): Record<string, string> {
  return {
    [names.deliveryId]: message.deliveryId,
    [names.communicationId]: message.communicationId,
    [names.attempt]: String(message.attempt),
  };
}
