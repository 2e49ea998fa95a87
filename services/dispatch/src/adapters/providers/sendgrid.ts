import type { OutboundMessage, Provider, SendOptions } from '../../domain/provider.js';
import { correlation } from './correlation.js';
import { callProvider, callTimeout, failure, jsonObject, parseMailbox, type Mailbox } from './http.js';

/** How to reach SendGrid's v3 Mail Send API. */
export interface SendGridProviderOptions {
  readonly apiKey: string;
  /** The From mailbox ("Name <a@b>" or "a@b"); a verified sender. */
  readonly from: string;
  /** e.g. https://api.sendgrid.com (EU subusers: https://api.eu.sendgrid.com). */
  readonly baseUrl: string;
  readonly timeoutMs: number;
}

/**
 * {@link Provider} over SendGrid `POST /v3/mail/send`: one personalization with one recipient, our
 * IDs as `custom_args` (they come back as top-level fields of each webhook event), extra headers
 * as `headers`. The message ID is the `X-Message-Id` answer header.
 */
export class SendGridProvider implements Provider {
  readonly name = 'sendgrid';
  private readonly endpoint: string;
  private readonly from: Mailbox;

  constructor(private readonly options: SendGridProviderOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/v3/mail/send`;
    const from = parseMailbox(options.from);
    if (from === undefined) throw new Error('SendGrid: the From address is not a mailbox');
    this.from = from;
  }

  /** Sends one email. 2xx → X-Message-Id; 408/429/5xx/network/timeout → unavailable; other 4xx → rejected. */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const timeoutMs = callTimeout(this.options.timeoutMs, options?.timeoutMs);
    const headers = message.headers ?? {};
    const body = {
      personalizations: [{ to: [{ email: message.to }] }],
      from:
        this.from.name === undefined
          ? { email: this.from.address }
          : { email: this.from.address, name: this.from.name },
      subject: message.subject ?? '',
      // text/plain first, as SendGrid requires; the HTML part after it.
      content: [
        { type: 'text/plain', value: message.body },
        ...(message.html === undefined ? [] : [{ type: 'text/html', value: message.html }]),
      ],
      custom_args: correlation(message),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
    const answer = await callProvider(
      this.endpoint,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      timeoutMs,
    );
    if (answer.status >= 200 && answer.status < 300) {
      return { providerMessageId: answer.headers.get('x-message-id') ?? '' };
    }
    // Documented error body: {"errors":[{"message":"…","field":"…","help":…}]}.
    const errors = jsonObject(answer.text)?.['errors'];
    const words = Array.isArray(errors)
      ? errors
          .map((e: unknown) => {
            const m = (e as { message?: unknown; field?: unknown } | null) ?? {};
            const text = typeof m.message === 'string' ? m.message : '';
            return typeof m.field === 'string' && m.field !== '' ? `${m.field}: ${text}` : text;
          })
          .filter((t) => t !== '')
          .join('; ')
      : answer.text;
    throw failure(answer, `http_${answer.status}`, words);
  }
}
