// Why a message was Not Sent, bounced or Failed (SPEC §2), and the flags a record keeps.

/**
 * The reason codes publishers put in `DeliveryEvent.reason_code`. Other values (a provider's own
 * error code) are kept verbatim: a reason code is never rejected, only this list is documented.
 */
export const REASON_CODES = {
  provider_rejected: 'the provider refused the message (bad address, policy)',
  provider_unavailable: 'the provider could not be reached or kept failing, after retries',
  send_interrupted: 'sending stopped before the provider answered (crash, shutdown)',
  cancelled: 'an operator cancelled the send before this message was handed to a provider',
  permanent_bounce: 'the receiving server refused the address for good',
  temporary_bounce: 'the receiving server refused it for now (mailbox full, deferral)',
  invalid_address: 'the address cannot be sent to as written',
  suppressed: 'the address is on the suppression list (earlier bounce, complaint or opt-out)',
  complaint: 'the recipient marked the message as spam',
  no_address: "the recipient has no address for any of the communication's channels (never sent)",
  preference: "the recipient opted out of every one of the communication's channels (never sent)",
  undelivered: 'the provider could not deliver it and its code does not say the address is bad for good',
} as const;

/** One of the documented reason codes. */
export type ReasonCode = keyof typeof REASON_CODES;

/** True when `value` is a documented reason code. */
export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === 'string' && Object.hasOwn(REASON_CODES, value);
}

/**
 * Facts a record keeps whatever status it shows: a Failed event for a complaint or a permanent
 * bounce. They matter most when a human action (70–90) outranks that Failed, so the status alone
 * no longer tells it — and the address must still be suppressed.
 */
export type RecordFlag = 'complaint' | 'permanent_bounce';

/** Every flag, in the order a record lists them. */
export const RECORD_FLAGS: readonly RecordFlag[] = ['complaint', 'permanent_bounce'];

/** True when `value` is a record flag. */
export function isRecordFlag(value: unknown): value is RecordFlag {
  return value === 'complaint' || value === 'permanent_bounce';
}

/** The flags, deduplicated and in {@link RECORD_FLAGS} order (ignoring anything that is not a flag). */
export function normalizeFlags(flags: Iterable<unknown>): RecordFlag[] {
  const set = new Set(flags);
  return RECORD_FLAGS.filter((f) => set.has(f));
}
