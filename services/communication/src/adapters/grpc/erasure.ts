import type { CommunicationServiceServer } from '@dlr/contracts';
import { unary, type Logger } from '@dlr/platform';
import type { Erasures } from '../../domain/erasure.js';
import { principal } from './operator.js';

/** The `ErasePerson` method of the gRPC `CommunicationService`. */
export function erasureGrpc(erasures: Erasures, logger: Logger): Pick<CommunicationServiceServer, 'erasePerson'> {
  return {
    erasePerson: unary(logger, 'ErasePerson', async (req, call) => {
      const r = await erasures.erase({
        email: req.email,
        phone: req.phone,
        externalId: req.externalId,
        reason: req.reason,
        actor: principal(call),
      });
      return { erasureId: r.erasureId, deliveryCount: r.deliveryCount, erasedAt: r.erasedAt };
    }),
  };
}
