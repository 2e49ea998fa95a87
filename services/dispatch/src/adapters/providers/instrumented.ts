import { defineCounter, defineHistogram, inSpan, LATENCY_BUCKETS, SpanKind } from '@dlr/platform';
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  type OutboundMessage,
  type Provider,
  type SendOptions,
} from '../../domain/provider.js';

const duration = defineHistogram(
  'dlr_provider_request_duration_seconds',
  'Provider send calls, by provider, channel and outcome (accepted, rejected, unavailable, unexpected).',
  ['provider', 'channel', 'outcome'],
  LATENCY_BUCKETS,
);
const errors = defineCounter(
  'dlr_provider_errors_total',
  'Provider send calls that failed: "rejected" (refused the message) or why it was unavailable (http_503, timeout, network, ...).',
  ['provider', 'channel', 'error'],
);

/**
 * A {@link Provider} that times every call in `dlr_provider_request_duration_seconds`, counts
 * failures in `dlr_provider_errors_total`, and makes the call a client span of the active trace
 * (an adapter that propagates context, like the simulator's, sends that span's `traceparent`).
 * Results and errors pass through unchanged.
 */
export class InstrumentedProvider implements Provider {
  readonly name: string;
  readonly idempotent: boolean;

  constructor(private readonly inner: Provider) {
    this.name = inner.name;
    this.idempotent = inner.idempotent === true;
  }

  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const labels = { provider: this.name, channel: message.channel };
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1_000;
    return inSpan(
      `provider send ${this.name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'dlr.provider': this.name,
          'dlr.channel': message.channel,
          'dlr.delivery_id': message.deliveryId,
          'dlr.communication_id': message.communicationId,
          'dlr.attempt': message.attempt,
        },
      },
      async (span) => {
        try {
          const result = await this.inner.send(message, options);
          duration.observe({ ...labels, outcome: 'accepted' }, seconds());
          return result;
        } catch (error) {
          const [outcome, reason] =
            error instanceof ProviderRejectedError
              ? ['rejected', 'rejected']
              : error instanceof ProviderUnavailableError
                ? ['unavailable', error.kind]
                : ['unexpected', 'unexpected'];
          duration.observe({ ...labels, outcome }, seconds());
          errors.inc({ ...labels, error: reason });
          span.setAttribute('dlr.provider.error', reason);
          throw error;
        }
      },
    );
  }
}
