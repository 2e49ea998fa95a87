import type { Channel } from '@dlr/contracts';
import { CommunicationServiceService, channelName, channelOf, type CommunicationServiceServer } from '@dlr/contracts';
import { InvalidArgumentError, unary, type Logger } from '@dlr/platform';
import type { Communications } from '../../domain/communications.js';
import type { OperatorActions } from '../../domain/operator-actions.js';
import type { ChannelName } from '../../domain/model.js';
import { toMessage } from './messages.js';
import { operatorGrpc } from './operator.js';
import { requestedContent, templatesGrpc } from './templates.js';
import type { Templates } from '../../domain/templates.js';
const toChannel = channelOf;

function fromChannel(channel: Channel, index: number, field = 'channels'): ChannelName {
  const name = channelName(channel);
  if (name === undefined) {
    throw new InvalidArgumentError(field === 'channels' ? 'invalid communication' : 'invalid recipients', [
      `${field}[${index}]: must be CHANNEL_EMAIL or CHANNEL_SMS`,
    ]);
  }
  return name;
}

/** The gRPC `CommunicationService` over the use cases. */
export function communicationGrpc(
  communications: Communications,
  logger: Logger,
  actions: OperatorActions,
  suppression: Pick<CommunicationServiceServer, 'liftSuppression'>,
  erasure: Pick<CommunicationServiceServer, 'erasePerson'>,
  controls: Pick<CommunicationServiceServer, 'cancelCommunication' | 'listAuditLog' | 'listSuppressions'>,
  templates: Templates,
  drafts: Pick<CommunicationServiceServer, 'updateDraft' | 'deleteDraft' | 'removeRecipients'>,
  history: Pick<CommunicationServiceServer, 'getRecipientHistory'>,
): CommunicationServiceServer {
  return {
    ...operatorGrpc(actions, logger),
    ...templatesGrpc(templates, logger),
    ...history,
    ...drafts,
    ...suppression,
    ...erasure,
    ...controls,
    createCommunication: unary(logger, 'CreateCommunication', async (req) => {
      const doc = await communications.create(await requestedContent(req, templates));
      return { communication: toMessage(doc, 0) };
    }),
    getCommunication: unary(logger, 'GetCommunication', async (req) => {
      const { communication, deliveryCount } = await communications.get(req.id);
      return { communication: toMessage(communication, deliveryCount) };
    }),
    addRecipients: unary(logger, 'AddRecipients', async (req) => {
      const result = await communications.addRecipients(
        req.communicationId,
        req.recipients.map((r, i) => ({
          externalId: r.externalId,
          name: r.name,
          email: r.email,
          phone: r.phone,
          optedOut: r.optedOutChannels.map((c, j) => fromChannel(c, j, `recipients[${i}].opted_out_channels`)),
          fields: r.fields,
        })),
      );
      return {
        deliveries: result.perRow.map((p) => ({
          deliveryId: p.deliveryId,
          recipientIndex: p.index,
          channel: toChannel(p.channel),
        })),
        createdCount: result.createdCount,
      };
    }),
    sendCommunication: unary(logger, 'SendCommunication', async (req) => {
      const doc = await communications.send(req.communicationId);
      const { deliveryCount } = await communications.get(doc._id);
      return { communication: toMessage(doc, deliveryCount) };
    }),
  };
}

export { CommunicationServiceService };
