// The delivery preview and the resend selection: pure rules over a communication and its deliveries.
import type { SuppressionReason } from '@dlr/contracts';
import type { StatusKey } from '@dlr/status-engine';
import {
  isIncluded,
  type ChannelName,
  type CommunicationDoc,
  type DeliveryDoc,
  type ResendScopeName,
} from './model.js';
import { countSmsSegments, type SmsCount } from './sms.js';

/** What will happen to one recipient × channel when the communication is sent. */
export type Outcome = 'will_send' | 'missing_address' | 'opted_out' | 'preference_overridden' | 'suppressed';

/** One recipient of the preview. */
export interface RecipientOutcome {
  readonly recipientKey: string;
  readonly name: string;
  readonly channels: readonly {
    channel: ChannelName;
    outcome: Outcome;
    deliveryId?: string;
    /** Why the address is suppressed (outcome `suppressed` only). */
    suppressionReason?: SuppressionReason;
  }[];
}

/** Counts per outcome for one channel. */
export type ChannelSummary = Record<Outcome, number> & { channel: ChannelName };

/** The whole preview: counts per channel and every recipient, in recipient-key order. */
export interface Preview {
  readonly recipientCount: number;
  readonly channels: readonly ChannelSummary[];
  readonly recipients: readonly RecipientOutcome[];
}

/** A stored delivery's outcome: suppressed wins (also over an override), then preference. */
export function deliveryOutcome(
  d: DeliveryDoc,
  communication: Pick<CommunicationDoc, 'preferenceOverride'>,
  suppressed: ReadonlyMap<string, SuppressionReason>,
): Exclude<Outcome, 'missing_address'> {
  if (suppressed.has(d._id)) return 'suppressed';
  if (d.optedOut !== true) return 'will_send';
  return isIncluded(d, communication) ? 'preference_overridden' : 'opted_out';
}

/** A channel's summary with every count at zero. */
export function emptySummary(channel: ChannelName): ChannelSummary {
  return { channel, will_send: 0, missing_address: 0, opted_out: 0, preference_overridden: 0, suppressed: 0 };
}

/**
 * Decides each recipient × channel: suppressed (the suppression list always wins, also over an
 * override), else missing address (no delivery for the channel), else opted out by preference unless
 * the communication overrides preferences, else will send.
 */
export function buildPreview(
  communication: Pick<CommunicationDoc, 'channels' | 'preferenceOverride'>,
  deliveries: Iterable<DeliveryDoc>,
  suppressed: ReadonlyMap<string, SuppressionReason>,
): Preview {
  const byRecipient = new Map<string, { name: string; deliveries: Map<ChannelName, DeliveryDoc> }>();
  for (const d of deliveries) {
    let entry = byRecipient.get(d.recipientKey);
    if (!entry) {
      entry = { name: d.name, deliveries: new Map() };
      byRecipient.set(d.recipientKey, entry);
    }
    entry.deliveries.set(d.channel, d);
  }
  const summaries = new Map<ChannelName, ChannelSummary>(
    communication.channels.map((channel) => [channel, emptySummary(channel)]),
  );
  const recipients: RecipientOutcome[] = [];
  for (const key of [...byRecipient.keys()].sort()) {
    const entry = byRecipient.get(key)!;
    const channels = communication.channels.map((channel) => {
      const d = entry.deliveries.get(channel);
      const outcome: Outcome = d === undefined ? 'missing_address' : deliveryOutcome(d, communication, suppressed);
      summaries.get(channel)![outcome]++;
      if (d === undefined) return { channel, outcome };
      const reason = suppressed.get(d._id);
      return reason === undefined
        ? { channel, outcome, deliveryId: d._id }
        : { channel, outcome, deliveryId: d._id, suppressionReason: reason };
    });
    recipients.push({ recipientKey: key, name: entry.name, channels });
  }
  return { recipientCount: recipients.length, channels: [...summaries.values()], recipients };
}

/** The SMS as dispatch sends it (text + " Ack: " + link when an acknowledgement is asked), counted. */
export function smsPreview(
  communication: Pick<CommunicationDoc, 'smsText' | 'acknowledgementRequested'>,
  linkLength: number,
): SmsCount & { linkAllowance: number } {
  const allowance = communication.acknowledgementRequested ? ' Ack: '.length + linkLength : 0;
  const text = communication.acknowledgementRequested
    ? `${communication.smsText.trimEnd()} Ack: ${'x'.repeat(linkLength)}`
    : communication.smsText;
  return { ...countSmsSegments(text), linkAllowance: allowance };
}

const NOT_DELIVERED: ReadonlySet<StatusKey> = new Set(['pending', 'sent', 'not_sent', 'bounced_temporarily']);
const NOT_ANSWERED: ReadonlySet<StatusKey> = new Set([...NOT_DELIVERED, 'delivered', 'read']);

/** The statuses a resend under `scope` goes to. */
export function resendStatuses(scope: ResendScopeName): StatusKey[] {
  return [...(scope === 'not_delivered' ? NOT_DELIVERED : NOT_ANSWERED)];
}

/**
 * True when a record in `status` gets a new attempt under `scope`. Failed (permanent bounce,
 * complaint) and Opted-out records are never resent; answered records are not "not answered".
 */
export function wantsResend(scope: ResendScopeName, status: StatusKey): boolean {
  return (scope === 'not_delivered' ? NOT_DELIVERED : NOT_ANSWERED).has(status);
}
