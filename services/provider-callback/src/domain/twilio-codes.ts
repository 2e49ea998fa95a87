// What a Twilio error code on a `failed` / `undelivered` status callback means for the record
// (docs/twilio-error-codes.md is this table in SPEC form; its test walks every row of the doc).
import { status, type StatusMapping } from './provider-event.js';

/**
 * How a code is read: `permanent` the number can never receive (Failed, suppresses);
 * `temporary` the handset or carrier could not take it now (Bounced Temporarily, no suppression);
 * `rejected` the message, sender or account was refused, not the number (Failed, no suppression);
 * `opted_out` the recipient replied STOP (Opted-out).
 */
export type TwilioCodeKind = 'permanent' | 'temporary' | 'rejected' | 'opted_out';

/** One documented Twilio error code. */
export interface TwilioCodeRow {
  readonly code: string;
  /** Twilio's title of the code. */
  readonly meaning: string;
  readonly kind: TwilioCodeKind;
}

/** The one table of Twilio error codes we decide by (order as in the doc). */
export const TWILIO_ERROR_CODES: readonly TwilioCodeRow[] = [
  { code: '21211', meaning: "Invalid 'To' phone number", kind: 'permanent' },
  { code: '21614', meaning: "'To' number is not a valid mobile number", kind: 'permanent' },
  { code: '30005', meaning: 'Unknown destination handset', kind: 'permanent' },
  { code: '30006', meaning: 'Landline or unreachable carrier', kind: 'permanent' },
  { code: '21610', meaning: 'Attempt to send to unsubscribed recipient (STOP)', kind: 'opted_out' },
  { code: '30001', meaning: 'Queue overflow', kind: 'temporary' },
  { code: '30003', meaning: 'Unreachable destination handset', kind: 'temporary' },
  { code: '30008', meaning: 'Unknown error', kind: 'temporary' },
  { code: '30009', meaning: 'Missing segment', kind: 'temporary' },
  { code: '30017', meaning: 'Carrier network congestion', kind: 'temporary' },
  { code: '30022', meaning: 'US A2P 10DLC rate limits exceeded', kind: 'temporary' },
  { code: '21408', meaning: 'Permission to send an SMS has not been enabled for the region', kind: 'rejected' },
  { code: '21612', meaning: "The 'To' phone number is not reachable from this 'From' sender", kind: 'rejected' },
  { code: '30002', meaning: 'Account suspended', kind: 'rejected' },
  { code: '30004', meaning: 'Message blocked', kind: 'rejected' },
  { code: '30007', meaning: 'Message filtered (carrier filtering)', kind: 'rejected' },
  { code: '30010', meaning: 'Message price exceeds max price', kind: 'rejected' },
  { code: '30032', meaning: 'Toll-free number has not been verified', kind: 'rejected' },
  { code: '30034', meaning: 'US A2P 10DLC message from an unregistered number', kind: 'rejected' },
];

const BY_CODE: ReadonlyMap<string, TwilioCodeRow> = new Map(TWILIO_ERROR_CODES.map((r) => [r.code, r]));

/** Reason code of an `undelivered` whose code the table does not know (Failed, no suppression). */
export const UNKNOWN_UNDELIVERED = 'undelivered';

/**
 * The mapping of a Twilio `failed` or `undelivered` callback by its `ErrorCode` (possibly absent).
 * Only `permanent` codes map to Failed `permanent_bounce` (the reason every suppression replica
 * acts on); an unknown code never suppresses: silencing a number for every later emergency on a
 * guess costs more than one more failed attempt.
 */
export function mapTwilioFailure(
  messageStatus: 'failed' | 'undelivered',
  errorCode: string | undefined,
): StatusMapping {
  const row = errorCode === undefined ? undefined : BY_CODE.get(errorCode.trim());
  switch (row?.kind) {
    case 'permanent':
      return status.failed('permanent_bounce');
    case 'opted_out':
      return status.optedOut;
    case 'temporary':
      // `failed`: Twilio never handed it to a carrier, so nothing bounced: Not Sent.
      return messageStatus === 'failed' ? status.notSent('provider_unavailable') : status.temporaryBounce;
    case 'rejected':
      return messageStatus === 'failed' ? status.notSent('provider_rejected') : status.failed('provider_rejected');
    case undefined:
      return messageStatus === 'failed' ? status.notSent('provider_rejected') : status.failed(UNKNOWN_UNDELIVERED);
  }
}
