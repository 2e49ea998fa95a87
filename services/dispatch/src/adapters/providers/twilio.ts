import { TWILIO_CALLBACK_OVERRIDES } from '@dlr/contracts';
import type { OutboundMessage, Provider, SendOptions } from '../../domain/provider.js';
import { basicAuth, callProvider, callTimeout, failure, jsonObject } from './http.js';

/** How to reach Twilio's Programmable Messaging API. */
export interface TwilioProviderOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** Sender: a phone number / sender ID (`From`) or a Messaging Service (`MessagingServiceSid`). */
  readonly sender: { readonly from: string } | { readonly messagingServiceSid: string };
  /** Public base URL of provider-callback; Twilio posts status to `<it>/v1/callbacks/twilio?d=&c=&a=`. */
  readonly callbackBaseUrl: string;
  /** e.g. https://api.twilio.com. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
}

/**
 * The StatusCallback URL of a message: provider-callback's Twilio endpoint with our IDs in the
 * query string (`d` delivery, `c` communication, `a` attempt), and Twilio's retry overrides as the
 * fragment ({@link TWILIO_CALLBACK_OVERRIDES}; a fragment is never sent in the request).
 */
export function twilioStatusCallback(callbackBaseUrl: string, message: OutboundMessage): string {
  const query = new URLSearchParams({
    d: message.deliveryId,
    c: message.communicationId,
    a: String(message.attempt),
  });
  return `${callbackBaseUrl.replace(/\/+$/, '')}/v1/callbacks/twilio?${query.toString()}${TWILIO_CALLBACK_OVERRIDES}`;
}

/**
 * {@link Provider} over Twilio `POST /2010-04-01/Accounts/<sid>/Messages.json` (form-encoded,
 * basic auth `<sid>:<token>`). The message ID is the answer's `sid` (SM…).
 */
export class TwilioProvider implements Provider {
  readonly name = 'twilio';
  private readonly endpoint: string;

  constructor(private readonly options: TwilioProviderOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  }

  /** Sends one SMS. 2xx → its sid; 408/429/5xx/network/timeout → unavailable; other 4xx → rejected with Twilio's code. */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const timeoutMs = callTimeout(this.options.timeoutMs, options?.timeoutMs);
    const form = new URLSearchParams();
    form.set('To', message.to);
    if ('from' in this.options.sender) form.set('From', this.options.sender.from);
    else form.set('MessagingServiceSid', this.options.sender.messagingServiceSid);
    form.set('Body', message.body);
    form.set('StatusCallback', twilioStatusCallback(this.options.callbackBaseUrl, message));
    const answer = await callProvider(
      this.endpoint,
      {
        method: 'POST',
        headers: {
          authorization: basicAuth(this.options.accountSid, this.options.authToken),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      },
      timeoutMs,
    );
    const json = jsonObject(answer.text);
    if (answer.status >= 200 && answer.status < 300) {
      const sid = json?.['sid'];
      return { providerMessageId: typeof sid === 'string' ? sid : '' };
    }
    // Documented error body: {"code": 21211, "message": "…", "more_info": "…", "status": 400}.
    const code = json?.['code'];
    const words = typeof json?.['message'] === 'string' ? json['message'] : answer.text;
    throw failure(
      answer,
      typeof code === 'number' || typeof code === 'string' ? String(code) : `http_${answer.status}`,
      words,
    );
  }
}
