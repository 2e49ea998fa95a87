import { createTransport } from 'nodemailer';
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  type OutboundMessage,
  type Provider,
  type SendOptions,
} from '../../domain/provider.js';
import { CORRELATION_HEADERS, correlation } from './correlation.js';
import { bareMessageId, callTimeout, truncate, unreachable } from './http.js';

/** How to reach an SMTP relay. */
export interface SmtpProviderOptions {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean;
  /** Refuse to send (or authenticate) unless the connection is encrypted. */
  readonly requireTls: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** The From mailbox ("Name <a@b>" or "a@b"). */
  readonly from: string;
  /** Pooled connections kept open to the relay. */
  readonly maxConnections: number;
  readonly timeoutMs: number;
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string; permanent?: boolean };

/** Errors without an SMTP reply that no retry can fix. */
const PERMANENT_CODES = new Set(['EAUTH', 'EENVELOPE', 'EMESSAGE', 'ECONFIG']);

/**
 * {@link Provider} over SMTP (nodemailer, pooled connections): our IDs in the header fields
 * X-DLR-Delivery-Id, X-DLR-Communication-Id and X-DLR-Attempt, extra headers as given. The message
 * ID is the Message-ID header (without angle brackets). A 5xx reply (except 503) → rejected; a 4xx
 * reply, 503, a dropped connection or a timeout → unavailable.
 */
export class SmtpProvider implements Provider {
  readonly name = 'smtp';
  private readonly transport;

  constructor(private readonly options: SmtpProviderOptions) {
    this.transport = createTransport({
      pool: true,
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: options.requireTls,
      ...(options.auth === undefined ? {} : { auth: { user: options.auth.user, pass: options.auth.pass } }),
      maxConnections: options.maxConnections,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      // nodemailer's own logger would print envelopes (addresses): keep it off.
      logger: false,
      debug: false,
    });
  }

  /** Sends one email; see the class comment for how answers map to errors. */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const timeoutMs = callTimeout(this.options.timeoutMs, options?.timeoutMs);
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: message.to,
        subject: message.subject ?? '',
        text: message.body,
        // With both, nodemailer builds multipart/alternative (text first).
        ...(message.html === undefined ? {} : { html: message.html }),
        headers: { ...(message.headers ?? {}), ...correlation(message, CORRELATION_HEADERS) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { providerMessageId: bareMessageId(info.messageId ?? '') };
    } catch (error) {
      throw smtpFailure(error as SmtpError, timeoutMs);
    }
  }

  /** Closes the pooled connections. */
  close(): void {
    this.transport.close();
  }
}

function smtpFailure(error: SmtpError, timeoutMs: number): ProviderRejectedError | ProviderUnavailableError {
  const code = error.responseCode;
  const words = truncate((error.response ?? error.message ?? '').trim());
  if (typeof code === 'number') {
    const permanent = error.permanent ?? (code >= 500 && code !== 503);
    if (permanent) return new ProviderRejectedError(`smtp_${code}`, words || `SMTP ${code}`);
    return new ProviderUnavailableError(`smtp_${code}`, `the SMTP server answered ${code}: ${words}`, {
      cause: error,
    });
  }
  if (error.code !== undefined && PERMANENT_CODES.has(error.code)) {
    return new ProviderRejectedError(error.code, words || error.code);
  }
  return unreachable(error, timeoutMs);
}
