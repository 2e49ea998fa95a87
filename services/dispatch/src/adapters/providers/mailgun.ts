import type { OutboundMessage, Provider, SendOptions } from '../../domain/provider.js';
import { correlation } from './correlation.js';
import { bareMessageId, basicAuth, callProvider, callTimeout, failure, jsonObject } from './http.js';

/** How to reach Mailgun's Messages API. */
export interface MailgunProviderOptions {
  readonly apiKey: string;
  /** The sending domain, e.g. mg.example.org. */
  readonly domain: string;
  /** The From mailbox ("Name <a@b>" or "a@b"). */
  readonly from: string;
  /** https://api.mailgun.net, or https://api.eu.mailgun.net for EU domains. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
}

/**
 * {@link Provider} over Mailgun `POST /v3/<domain>/messages` (multipart form, basic auth
 * `api:<key>`): our IDs as `v:` variables (they come back as `user-variables` in webhooks), extra
 * headers as `h:` fields. The message ID is the answer's `id` without its angle brackets, as
 * webhooks carry it in `message.headers.message-id`.
 */
export class MailgunProvider implements Provider {
  readonly name = 'mailgun';
  private readonly endpoint: string;

  constructor(private readonly options: MailgunProviderOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/v3/${encodeURIComponent(options.domain)}/messages`;
  }

  /** Sends one email. 2xx → its id; 408/429/5xx/network/timeout → unavailable; other 4xx → rejected. */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const timeoutMs = callTimeout(this.options.timeoutMs, options?.timeoutMs);
    const form = new FormData();
    form.append('from', this.options.from);
    form.append('to', message.to);
    form.append('subject', message.subject ?? '');
    form.append('text', message.body);
    if (message.html !== undefined) form.append('html', message.html);
    for (const [name, value] of Object.entries(message.headers ?? {})) form.append(`h:${name}`, value);
    for (const [name, value] of Object.entries(correlation(message))) form.append(`v:${name}`, value);
    const answer = await callProvider(
      this.endpoint,
      { method: 'POST', headers: { authorization: basicAuth('api', this.options.apiKey) }, body: form },
      timeoutMs,
    );
    const json = jsonObject(answer.text);
    if (answer.status >= 200 && answer.status < 300) {
      const id = json?.['id'];
      return { providerMessageId: typeof id === 'string' ? bareMessageId(id) : '' };
    }
    // Documented error body: {"message": "…"}; some answers (401) are plain text.
    const words = typeof json?.['message'] === 'string' ? json['message'] : answer.text;
    throw failure(answer, `http_${answer.status}`, words);
  }
}
