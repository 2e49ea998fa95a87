import type { SuppressionReason } from '@dlr/contracts';
import type { StatusKey } from '@dlr/status-engine';
import type { CommunicationDoc, DeletionDoc, DeliveryDoc, PreferenceOverrideDoc, ResendDoc } from './model.js';

/** Storage of communications and their deliveries (implemented over MongoDB). */
export interface CommunicationStore {
  insertCommunication(doc: CommunicationDoc): Promise<void>;
  getCommunication(id: string): Promise<CommunicationDoc | null>;
  /** Inserts the deliveries that are new; returns the IDs that already existed. */
  insertDeliveries(docs: readonly DeliveryDoc[]): Promise<{ existingIds: string[] }>;
  getDeliveries(ids: readonly string[]): Promise<DeliveryDoc[]>;
  countDeliveries(communicationId: string): Promise<number>;
  /** Every delivery of a communication in ID order, in pages. */
  streamDeliveries(communicationId: string): AsyncIterable<DeliveryDoc>;
  /** Moves state `from` → `to` if the communication is in `from`; returns the updated doc or null. */
  transition(
    id: string,
    from: CommunicationDoc['state'],
    to: CommunicationDoc['state'],
    at: Date,
  ): Promise<CommunicationDoc | null>;
  /** IDs of communications left in `sending` (e.g. by a crash). */
  listSending(): Promise<string[]>;
  /** Raises the recipients' revision and adds `deliveries` to the kept count. */
  recipientsChanged(id: string, deliveries: number): Promise<void>;
  /** Sets the kept delivery count, if the recipients are still at `revision` (a recount's result). */
  setDeliveryCount(id: string, revision: number, count: number): Promise<void>;
  /**
   * One page of a communication's deliveries in ID order after `after` (a stable order that any
   * store serves from its `_id` index).
   */
  deliveriesPage(communicationId: string, after: string, limit: number): Promise<DeliveryDoc[]>;
}

/** Storage for the operator actions (list, override, resend, history); implemented by the same store. */
export interface OperatorActionStore {
  /** Newest first; `after` is the last communication of the previous page. */
  listCommunications(limit: number, after?: { createdAt: Date; id: string }): Promise<CommunicationDoc[]>;
  /** Sets the override if the communication is a draft without one; returns the updated doc or null. */
  setPreferenceOverride(id: string, override: PreferenceOverrideDoc): Promise<CommunicationDoc | null>;
  /** Takes the communication's resend slot if it is sent and no resend holds it; returns the doc or null. */
  lockResend(id: string, resendKey: string): Promise<CommunicationDoc | null>;
  /** Frees the resend slot if `resendKey` holds it. */
  unlockResend(id: string, resendKey: string): Promise<void>;
  /** Communications whose resend slot is held (e.g. left by a crash). */
  listResending(): Promise<CommunicationDoc[]>;
  /** Inserts a resend; false when one with the same `_id` exists. */
  insertResend(doc: ResendDoc): Promise<boolean>;
  getResend(id: string): Promise<ResendDoc | null>;
  finishResend(id: string, resentCount: number, at: Date): Promise<ResendDoc | null>;
  /** Stores a running resend's progress (shown while it runs). */
  progressResend(
    id: string,
    progress: { resentCount: number; examined: number; total: number; problem?: string },
  ): Promise<void>;
  /** Records new attempts of deliveries: one round trip for the whole batch. */
  setAttempts(attempts: readonly { deliveryId: string; attempt: number }[], resendKey: string): Promise<void>;
  /** A recipient's deliveries, newest first; `after` is the last of the previous page. */
  recipientDeliveries(
    recipientKey: string,
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<DeliveryDoc[]>;
}

/** The draft fields an edit may change. */
export type DraftFields = Pick<
  CommunicationDoc,
  'title' | 'emailSubject' | 'emailBody' | 'smsText' | 'channels' | 'acknowledgementRequested' | 'responseOptions'
>;

/** Storage for editing drafts; every change of the communication is conditional on it being a draft. */
export interface DraftStore {
  /** The communication, deleted ones included (their tombstone). */
  getAnyCommunication(id: string): Promise<CommunicationDoc | null>;
  /** Sets `fields` if the communication is a draft (not deleted); returns the updated doc or null. */
  updateDraft(id: string, fields: DraftFields): Promise<CommunicationDoc | null>;
  /** Adds keys to `pendingRemoval` if the communication is a draft; returns the updated doc or null. */
  markRemoval(id: string, recipientKeys: readonly string[]): Promise<CommunicationDoc | null>;
  /** Takes keys out of `pendingRemoval` (only while a draft: a send's snapshot keeps them). */
  clearRemoval(id: string, recipientKeys: readonly string[]): Promise<void>;
  /** Marks a draft deleted; returns the updated doc or null when it is not an undeleted draft. */
  markDeleted(id: string, deletion: DeletionDoc): Promise<CommunicationDoc | null>;
  markPurged(id: string): Promise<void>;
  /** Deleted drafts whose deliveries were not all removed yet (e.g. a crash). */
  listUnpurged(): Promise<CommunicationDoc[]>;
  deleteDeliveries(ids: readonly string[]): Promise<void>;
}

/** Current statuses of a communication's delivery records, as the reporting service has them. */
export interface DeliveryStatusSource {
  /**
   * The records of the communication (at least those in `only`; a caller checks each status itself).
   * Throws UnavailableError when reporting cannot be reached.
   */
  statuses(
    communicationId: string,
    only: readonly StatusKey[],
    /** Called once, before the first record, with how many records reporting has in `only`. */
    onTotal?: (total: number) => void,
  ): AsyncIterable<{ deliveryId: string; status: StatusKey }>;
}

/** The suppression list, when this service can consult it. */
export interface SuppressionLookup {
  /** The delivery IDs among `deliveries` whose address is suppressed, each with why. */
  suppressed(deliveries: readonly DeliveryDoc[]): Promise<ReadonlyMap<string, SuppressionReason>>;
  /** The delivery IDs among `deliveries` suppressed only by an opt-out through a link (an override passes them). */
  linkOptOuts(deliveries: readonly DeliveryDoc[]): Promise<ReadonlySet<string>>;
  /** Raised by every change to the list (what a preview summary was computed against). */
  revision(): Promise<number>;
}

/** Publishes this service's events; each call resolves once JetStream has stored the message. */
export interface CommunicationEvents {
  recipientsAdded(communication: CommunicationDoc, deliveries: readonly DeliveryDoc[], at: Date): Promise<void>;
  sendRequested(communication: CommunicationDoc, delivery: DeliveryDoc, attempt: number, at: Date): Promise<void>;
  /** `RecipientsRemoved`: these delivery records of a draft no longer exist. */
  recipientsRemoved(communicationId: string, deliveryIds: readonly string[], at: Date, deleted: boolean): Promise<void>;
}
