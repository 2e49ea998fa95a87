// gRPC `GetRecipientHistory`: a recipient's deliveries found by email, phone, external ID or key,
// with the status and response the report shows.
import { channelOf, CommunicationState, DeliveryStatus, type CommunicationServiceServer } from '@dlr/contracts';
import { unary, type Logger } from '@dlr/platform';
import { STATUSES } from '@dlr/status-engine';
import type { RecipientHistory } from '../../domain/history.js';
import { STATES } from './messages.js';

/** The history method of the gRPC `CommunicationService`. */
export function historyGrpc(
  history: RecipientHistory,
  logger: Logger,
): Pick<CommunicationServiceServer, 'getRecipientHistory'> {
  return {
    getRecipientHistory: unary(logger, 'GetRecipientHistory', async (req) => {
      const h = await history.page(
        { recipientKey: req.recipientKey, email: req.email, phone: req.phone, externalId: req.externalId },
        { pageSize: req.pageSize, pageToken: req.pageToken },
      );
      return {
        entries: h.entries.map((e) => ({
          communicationId: e.delivery.communicationId,
          title: e.communication?.title ?? '',
          state: e.communication ? STATES[e.communication.state] : CommunicationState.COMMUNICATION_STATE_UNSPECIFIED,
          deliveryId: e.delivery._id,
          channel: channelOf(e.delivery.channel),
          recipientName: e.delivery.name,
          attempt: e.attempt,
          heldByPreference: e.heldByPreference,
          addedAt: e.delivery.createdAt,
          sentAt: e.communication?.sentAt,
          status: e.status ? STATUSES[e.status].proto : DeliveryStatus.DELIVERY_STATUS_UNSPECIFIED,
          response: e.response,
          statusKnown: e.status !== undefined,
        })),
        nextPageToken: h.nextPageToken,
      };
    }),
  };
}
