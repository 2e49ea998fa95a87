import { traceHeaders } from '@dlr/platform';
import { callProvider } from './http.js';
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  type OutboundMessage,
  type Provider,
  type SendOptions,
} from '../../domain/provider.js';

/** Where and how to reach the provider simulator. */
export interface SimulatorProviderOptions {
  /** Base URL of the simulator, e.g. http://127.0.0.1:4010. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Base URL of provider-callback; the simulator posts to `<it>/v1/callbacks/simulator`. */
  readonly callbackBaseUrl: string;
  /** Longest a call may take. */
  readonly timeoutMs: number;
}

/** {@link Provider} over the simulator's HTTP send API (`POST /v1/messages`). */
export class SimulatorProvider implements Provider {
  readonly name = 'simulator';
  /** It takes an Idempotency-Key (`<delivery>:<attempt>`). */
  readonly idempotent = true;
  private readonly endpoint: string;
  private readonly callbackUrl: string;

  constructor(private readonly options: SimulatorProviderOptions) {
    this.endpoint = `${trimSlash(options.baseUrl)}/v1/messages`;
    this.callbackUrl = `${trimSlash(options.callbackBaseUrl)}/v1/callbacks/simulator`;
  }

  /**
   * Sends one message. 2xx → its `messageId`; 429/5xx, network errors and timeouts →
   * {@link ProviderUnavailableError}; any other answer (422 refusal, 400, 401) → {@link ProviderRejectedError}.
   */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const timeoutMs = Math.min(this.options.timeoutMs, options?.timeoutMs ?? Infinity);
    const body = JSON.stringify({
      channel: message.channel,
      to: message.to,
      ...(message.channel === 'email' ? { subject: message.subject ?? '' } : {}),
      body: message.body,
      ...(message.channel === 'email' && message.html !== undefined ? { html: message.html } : {}),
      callbackUrl: this.callbackUrl,
      metadata: { deliveryId: message.deliveryId, communicationId: message.communicationId, attempt: message.attempt },
    });
    const { status, text } = await callProvider(
      this.endpoint,
      {
        method: 'POST',
        // The simulator keeps the trace context and sends it back on its callback (real providers don't).
        headers: {
          ...traceHeaders(),
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': `${message.deliveryId}:${message.attempt}`,
        },
        body,
      },
      timeoutMs,
    );
    const json = parseJson(text);
    if (status >= 200 && status < 300) {
      // Accepted: even without an ID it must not be sent again.
      return { providerMessageId: typeof json?.['messageId'] === 'string' ? json['messageId'] : '' };
    }
    const providerMessage = typeof json?.['message'] === 'string' ? json['message'] : text.slice(0, 500);
    if (status === 429 || status >= 500) {
      throw new ProviderUnavailableError(`http_${status}`, `the provider answered HTTP ${status}: ${providerMessage}`);
    }
    const code = typeof json?.['error'] === 'string' ? json['error'] : `http_${status}`;
    throw new ProviderRejectedError(code, providerMessage || `HTTP ${status}`);
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
