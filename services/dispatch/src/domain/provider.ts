/** The channel of one outgoing message. */
export type ChannelName = 'email' | 'sms';

/** One rendered message, ready for a provider. `to` is personal data: never log it. */
export interface OutboundMessage {
  readonly channel: ChannelName;
  readonly to: string;
  /** Email only. */
  readonly subject?: string;
  /** The text (email: the plain-text part). */
  readonly body: string;
  /** Email only: the HTML part, sent with `body` as multipart/alternative. */
  readonly html?: string;
  /** Email only: extra header fields (e.g. List-Unsubscribe), name → value, passed to the provider as given. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly deliveryId: string;
  readonly communicationId: string;
  readonly attempt: number;
}

/** Per-call limits the caller imposes. */
export interface SendOptions {
  /** Give up on this call after this long (the adapter may have a shorter timeout of its own). */
  readonly timeoutMs?: number;
  /**
   * Do not start the call later than this many ms from now (e.g. while waiting for a rate-limit
   * token): throw {@link CallNotStartedError} instead, so the caller knows the provider never saw it.
   */
  readonly startWithinMs?: number;
  /**
   * Asked right before the call starts (after any rate-limit wait): false means the message is no
   * longer wanted (its communication was cancelled); throw {@link CallNotStartedError} instead.
   */
  readonly stillWanted?: () => boolean;
}

/** The call was never made (no rate-limit token in time, or the limiter could not be reached). */
export class CallNotStartedError extends Error {
  override readonly name = 'CallNotStartedError';
}

/** An email/SMS provider. */
export interface Provider {
  /** Name used in events and attempts, e.g. "simulator". */
  readonly name: string;
  /**
   * True when the provider recognises a repeat of a send (same delivery and attempt, sent as an
   * idempotency key) and does not deliver it twice. Only then may an attempt whose handler died
   * mid-call be sent again; otherwise it ends Not Sent `send_interrupted`.
   */
  readonly idempotent?: boolean;
  /**
   * Hands one message to the provider. Resolves with the provider's message ID once it accepted it.
   * Throws {@link ProviderRejectedError} when the provider refuses it (retrying cannot help) and
   * {@link ProviderUnavailableError} when it could not answer (429, 5xx, network, timeout).
   */
  send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }>;
}

/** The provider refused the message; `code` is its own error code and `text` its own words. */
export class ProviderRejectedError extends Error {
  override readonly name = 'ProviderRejectedError';
  constructor(
    readonly code: string,
    readonly text: string,
  ) {
    super(`provider rejected the message (${code})`);
  }
}

/** The provider could not be reached or asked us to come back later; `kind` is safe to log. */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
  constructor(
    /** e.g. "http_503", "http_429", "timeout", "network". */
    readonly kind: string,
    message: string,
    options?: {
      cause?: unknown;
      /** How long the provider asked us to wait before trying again (its Retry-After), when it said. */
      retryAfterMs?: number;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** How long the provider asked us to wait (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
}
