import { channelName, type CommunicationServiceServer } from '@dlr/contracts';
import { unary, type Logger } from '@dlr/platform';
import type { SuppressionLifts } from '../../domain/suppression-lifts.js';
import { principal } from './operator.js';

/** The `LiftSuppression` method of the gRPC `CommunicationService`. */
export function suppressionGrpc(
  lifts: SuppressionLifts,
  logger: Logger,
): Pick<CommunicationServiceServer, 'liftSuppression'> {
  return {
    liftSuppression: unary(logger, 'LiftSuppression', async (req, call) => {
      const doc = await lifts.lift({
        channel: channelName(req.channel),
        address: req.address,
        operator: req.operator,
        principal: principal(call),
        reason: req.reason,
      });
      return { liftId: doc._id, addressKey: doc.addressKey, liftedAt: doc.liftedAt };
    }),
  };
}
