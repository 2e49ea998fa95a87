// gRPC handlers for fixing drafts: UpdateDraft, DeleteDraft, RemoveRecipients.
import { channelName, type CommunicationServiceServer } from '@dlr/contracts';
import { InvalidArgumentError, unary, type Logger } from '@dlr/platform';
import type { Drafts } from '../../domain/drafts.js';
import type { ChannelName } from '../../domain/model.js';
import type { DraftFields } from '../../domain/ports.js';
import { toMessage } from './messages.js';
import { principal } from './operator.js';

/** The draft methods of the gRPC `CommunicationService`. */
export function draftsGrpc(
  drafts: Drafts,
  countDeliveries: (id: string) => Promise<number>,
  logger: Logger,
): Pick<CommunicationServiceServer, 'updateDraft' | 'deleteDraft' | 'removeRecipients'> {
  return {
    updateDraft: unary(logger, 'UpdateDraft', async (req) => {
      const patch: Partial<DraftFields> = {
        title: req.title,
        emailSubject: req.emailSubject,
        emailBody: req.emailBody,
        smsText: req.smsText,
        acknowledgementRequested: req.acknowledgementRequested,
        channels: req.channels?.channels.map((c, i): ChannelName => {
          const name = channelName(c);
          if (name === undefined)
            throw new InvalidArgumentError('invalid communication', [
              `channels[${i}]: must be CHANNEL_EMAIL or CHANNEL_SMS`,
            ]);
          return name;
        }),
        responseOptions: req.responseOptions?.options,
      };
      const r = await drafts.update(req.communicationId, patch);
      return {
        communication: toMessage(r.communication, await countDeliveries(r.communication._id)),
        removedCount: r.removed,
      };
    }),
    deleteDraft: unary(logger, 'DeleteDraft', async (req, call) => {
      const r = await drafts.delete(req.communicationId, principal(call), req.reason);
      return { removedCount: r.removed, alreadyDeleted: r.alreadyDeleted };
    }),
    removeRecipients: unary(logger, 'RemoveRecipients', async (req) => {
      const r = await drafts.removeRecipients(req.communicationId, req.recipients);
      return { removedCount: r.removed, notFound: r.notFound };
    }),
  };
}
