import type { ChannelName } from './provider.js';

/** The content fields dispatch renders (a subset of the contract's `MessageContent`). */
export interface ContentToRender {
  readonly title: string;
  readonly emailSubject: string;
  readonly emailBody: string;
  readonly smsText: string;
}

/** The recipient links of one message (absent = not offered). */
export interface MessageLinks {
  /** The acknowledge page. */
  readonly ack?: string;
  /** The response page (every option as a button); offered instead of `ack` when there are options. */
  readonly respond?: string;
  /** Email only: the opt-out page (also the List-Unsubscribe URL). */
  readonly optout?: string;
  /** Email only: extra header fields (List-Unsubscribe, List-Unsubscribe-Post). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A message rendered for its channel. */
export type RenderedMessage =
  | {
      readonly channel: 'email';
      readonly subject: string;
      readonly body: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly channel: 'sms'; readonly body: string };

/** The acknowledge page of a token: `<base>/a/<token>` (a trailing slash on the base is ignored). */
export function ackUrl(feedbackBaseUrl: string, token: string): string {
  return `${feedbackBaseUrl.replace(/\/+$/, '')}/a/${token}`;
}

/**
 * Renders the message for a channel. Email: the subject (the title when the subject is empty) and
 * the body, then a blank line and "Respond: <url>" or "Acknowledge receipt: <url>", then "To stop
 * receiving these messages: <url>"; its List-Unsubscribe headers. SMS: the text, then " Reply: <url>"
 * or " Ack: <url>" (one short link, so it fits a segment).
 */
export function renderMessage(channel: ChannelName, content: ContentToRender, links: MessageLinks): RenderedMessage {
  switch (channel) {
    case 'email': {
      const lines: string[] = [];
      if (links.respond) lines.push(`Respond: ${links.respond}`);
      else if (links.ack) lines.push(`Acknowledge receipt: ${links.ack}`);
      if (links.optout) lines.push(`To stop receiving these messages: ${links.optout}`);
      const body = lines.length > 0 ? `${content.emailBody.trimEnd()}\n\n${lines.join('\n\n')}\n` : content.emailBody;
      const subject = content.emailSubject || content.title;
      return links.headers ? { channel, subject, body, headers: links.headers } : { channel, subject, body };
    }
    case 'sms': {
      const text = content.smsText.trimEnd();
      if (links.respond) return { channel, body: `${text} Reply: ${links.respond}` };
      if (links.ack) return { channel, body: `${text} Ack: ${links.ack}` };
      return { channel, body: content.smsText };
    }
  }
}
