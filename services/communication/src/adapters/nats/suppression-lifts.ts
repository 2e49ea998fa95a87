import { channelOf, subjects, SuppressionLifted } from '@dlr/contracts';
import { publishDurable, UnavailableError, type NatsHandle } from '@dlr/platform';
import type { SuppressionLiftDoc, SuppressionLiftEvents } from '../../domain/suppression-lifts.js';

/** {@link SuppressionLiftEvents} on JetStream (`<ns>.v1.communication.suppression-lifted`). */
export class NatsSuppressionLiftEvents implements SuppressionLiftEvents {
  constructor(
    private readonly nats: NatsHandle,
    private readonly namespace: string,
  ) {}

  async suppressionLifted(doc: SuppressionLiftDoc): Promise<void> {
    const message = SuppressionLifted.fromPartial({
      liftId: doc._id,
      channel: channelOf(doc.channel),
      addressKey: doc.addressKey,
      operator: doc.operator,
      reason: doc.reason,
      liftedAt: doc.liftedAt,
    });
    try {
      await publishDurable(
        this.nats.js,
        subjects(this.namespace).suppressionLifted,
        SuppressionLifted.encode(message).finish(),
        `suppression-lifted:${doc._id}`,
      );
    } catch (error) {
      throw new UnavailableError('the lift is recorded but could not be published; retry', error);
    }
  }
}
