/** A channel a communication can be sent through. */
export type ChannelName = 'email' | 'sms';

/** A communication is a draft until sent; `sending` while its send requests are being published. */
export type CommunicationStateName = 'draft' | 'sending' | 'sent';

/** A communication as stored. */
export interface CommunicationDoc {
  _id: string;
  title: string;
  emailSubject: string;
  emailBody: string;
  smsText: string;
  channels: ChannelName[];
  acknowledgementRequested: boolean;
  responseOptions: string[];
  state: CommunicationStateName;
  createdAt: Date;
  sendStartedAt?: Date;
  sentAt?: Date;
  /** Set once an operator overrode recipients' preferences (never withdrawn). */
  preferenceOverride?: PreferenceOverrideDoc;
  /** The resend being carried out (its request key); one at a time per communication. */
  resendInProgress?: string;
  /** Set once an operator cancelled the send (never withdrawn). */
  cancellation?: CancellationDoc;
  /**
   * Raised before and after every change to the recipients (a summary computed at another revision
   * is out of date). Absent on communications stored before it existed.
   */
  recipientsRevision?: number;
  /**
   * Deliveries stored, kept as recipients are added (a crash between the insert and the increment
   * leaves it short until the next preview recounts it). Absent: count them.
   */
  deliveryCount?: number;
  /** Recipient keys being removed from the draft: a send started meanwhile skips them. */
  pendingRemoval?: string[];
  /** Set when the draft was deleted: the document stays as a tombstone, hidden from every read. */
  deletion?: DeletionDoc;
}

/** Who deleted a draft, why and when; `purged` once its deliveries are gone and announced. */
export interface DeletionDoc {
  principal: string;
  reason: string;
  at: Date;
  purged: boolean;
}

/** True when the fan-out of `communication` (its snapshot at send time) sends `delivery`. */
export function isInSend(
  delivery: Pick<DeliveryDoc, 'channel' | 'recipientKey'>,
  communication: Pick<CommunicationDoc, 'channels' | 'pendingRemoval'>,
): boolean {
  return (
    communication.channels.includes(delivery.channel) &&
    !(communication.pendingRemoval ?? []).includes(delivery.recipientKey)
  );
}

/** Who cancelled a send (the authenticated caller), why and when. */
export interface CancellationDoc {
  principal: string;
  reason: string;
  at: Date;
}

/** The audit record of an emergency override of recipients' preferences. */
export interface PreferenceOverrideDoc {
  /** Who decided, as they signed the request. */
  operator: string;
  /** Who was signed in (the authenticated subject), when known. */
  principal: string;
  reason: string;
  at: Date;
}

/** A resend request as stored: its `_id` is `<communicationId>:<requestId>` (the idempotency key). */
export interface ResendDoc {
  _id: string;
  communicationId: string;
  requestId: string;
  scope: ResendScopeName;
  operator: string;
  principal: string;
  state: 'running' | 'done';
  requestedAt: Date;
  finishedAt?: Date;
  /** Records given a new attempt so far (all of them once `done`). */
  resentCount: number;
  /** Progress while running: records of the scope's statuses reporting had when the resend began. */
  total?: number;
  /** Progress while running: records looked at so far (of `total`). */
  examined?: number;
  /** Why a running resend stopped (reporting or the store unreachable); repeating the request carries it on. */
  problem?: string;
}

/** Which delivery records a resend goes to. */
export type ResendScopeName = 'not_delivered' | 'not_answered';

/** One recipient × channel of a communication: a delivery record's origin. */
export interface DeliveryDoc {
  _id: string;
  communicationId: string;
  recipientKey: string;
  name: string;
  channel: ChannelName;
  /** Email address or E.164 phone number: personal data, never logged. */
  address: string;
  createdAt: Date;
  /** The recipient opted out of this channel by preference: held back unless the communication overrides. */
  optedOut?: boolean;
  /** The latest attempt sent when above 1 (absent: attempt 1, the first send). */
  attempt?: number;
  /** The resend that set `attempt` (so a resumed resend does not bump it twice). */
  lastResendId?: string;
  /** The person was erased: name, address and key replaced; never sent again. */
  erased?: boolean;
  /** Extra merge-field values of the recipient (personal data, never logged); absent when none. */
  fields?: Record<string, string>;
  /**
   * The recipient cannot be reached on any of the communication's channels: `no_address` (this
   * record has no address; the recipient's only record) or `preference` (opted out of every channel;
   * set on the first channel's record). Published so the report shows the person as Not Sent.
   */
  unreachable?: UnreachableName;
}

/** Why a recipient cannot be reached on any channel (the Not Sent reason code). */
export type UnreachableName = 'no_address' | 'preference';

/** True when a delivery is announced and sent: not held back by the recipient's preference. */
export function isIncluded(
  delivery: Pick<DeliveryDoc, 'optedOut' | 'erased'>,
  communication: Pick<CommunicationDoc, 'preferenceOverride'>,
): boolean {
  if (delivery.erased === true) return false;
  return delivery.optedOut !== true || communication.preferenceOverride !== undefined;
}

/**
 * Why this delivery is recorded Not Sent without a send (the recipient cannot be reached on any
 * channel), or undefined. An override of preferences sends a `preference` one like any other.
 */
export function unreachableReason(
  delivery: Pick<DeliveryDoc, 'unreachable' | 'erased'>,
  communication: Pick<CommunicationDoc, 'preferenceOverride'>,
): UnreachableName | undefined {
  if (delivery.erased === true) return undefined;
  if (delivery.unreachable === 'preference' && communication.preferenceOverride !== undefined) return undefined;
  return delivery.unreachable;
}

/** True when a delivery is announced and gets a send request (sent, or recorded as unreachable). */
export function isPublished(
  delivery: Pick<DeliveryDoc, 'optedOut' | 'erased' | 'unreachable'>,
  communication: Pick<CommunicationDoc, 'preferenceOverride'>,
): boolean {
  return isIncluded(delivery, communication) || unreachableReason(delivery, communication) !== undefined;
}
