// Communication's documents as the contract's messages, for every gRPC handler of CommunicationService.
import { channelOf, CommunicationState, type Communication } from '@dlr/contracts';
import type { CommunicationDoc } from '../../domain/model.js';

/** A stored communication's state as the contract's. */
export const STATES: Record<CommunicationDoc['state'], CommunicationState> = {
  draft: CommunicationState.COMMUNICATION_STATE_DRAFT,
  sending: CommunicationState.COMMUNICATION_STATE_SENDING,
  sent: CommunicationState.COMMUNICATION_STATE_SENT,
};

/** A stored communication as the contract's message. */
export function toMessage(doc: CommunicationDoc, deliveryCount: number): Communication {
  return {
    id: doc._id,
    title: doc.title,
    emailSubject: doc.emailSubject,
    emailBody: doc.emailBody,
    smsText: doc.smsText,
    channels: doc.channels.map(channelOf),
    acknowledgementRequested: doc.acknowledgementRequested,
    responseOptions: doc.responseOptions,
    state: STATES[doc.state],
    deliveryCount,
    createdAt: doc.createdAt,
    sentAt: doc.sentAt,
    preferenceOverride: doc.preferenceOverride
      ? {
          operator: doc.preferenceOverride.operator,
          reason: doc.preferenceOverride.reason,
          at: doc.preferenceOverride.at,
        }
      : undefined,
    cancellation: doc.cancellation
      ? { actor: doc.cancellation.principal, reason: doc.cancellation.reason, at: doc.cancellation.at }
      : undefined,
  };
}
