import type { ChannelName } from './provider.js';

/** The content fields dispatch renders (a subset of the contract's `MessageContent`). */
export interface ContentToRender {
  readonly title: string;
  readonly emailSubject: string;
  readonly emailBody: string;
  readonly smsText: string;
}

/** A message rendered for its channel. */
export type RenderedMessage =
  | { readonly channel: 'email'; readonly subject: string; readonly body: string }
  | { readonly channel: 'sms'; readonly body: string };

/** The acknowledge page of a token: `<base>/a/<token>` (a trailing slash on the base is ignored). */
export function ackUrl(feedbackBaseUrl: string, token: string): string {
  return `${feedbackBaseUrl.replace(/\/+$/, '')}/a/${token}`;
}

/**
 * Renders the message for a channel. Email: the subject (the title when the subject is empty) and
 * the body, then, when an acknowledge URL is given, a blank line and "Acknowledge receipt: <url>".
 * SMS: the text, then " Ack: <url>".
 */
export function renderMessage(
  channel: ChannelName,
  content: ContentToRender,
  acknowledgeUrl: string | undefined,
): RenderedMessage {
  switch (channel) {
    case 'email': {
      const body = acknowledgeUrl
        ? `${content.emailBody.trimEnd()}\n\nAcknowledge receipt: ${acknowledgeUrl}\n`
        : content.emailBody;
      return { channel, subject: content.emailSubject || content.title, body };
    }
    case 'sms':
      return {
        channel,
        body: acknowledgeUrl ? `${content.smsText.trimEnd()} Ack: ${acknowledgeUrl}` : content.smsText,
      };
  }
}
