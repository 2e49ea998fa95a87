import { html, join, raw, type SafeHtml } from '@dlr/html';
import type { ChannelName } from './provider.js';

/** The content fields dispatch renders (a subset of the contract's `MessageContent`). */
export interface ContentToRender {
  readonly title: string;
  readonly emailSubject: string;
  readonly emailBody: string;
  readonly smsText: string;
  /** The response options (buttons in the HTML part); optional for callers that have none. */
  readonly responseOptions?: readonly string[];
}

/** The recipient links of one message (absent = not offered). */
export interface MessageLinks {
  /** The acknowledge page. */
  readonly ack?: string;
  /** The response page (every option as a button); offered instead of `ack` when there are options. */
  readonly respond?: string;
  /** Email only: the opt-out page (also the List-Unsubscribe URL). */
  readonly optout?: string;
  /** Email only: the 1×1 open pixel (`/o/<token>`) of the HTML part. */
  readonly pixel?: string;
  /** Email only: extra header fields (List-Unsubscribe, List-Unsubscribe-Post). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A message rendered for its channel. */
export type RenderedMessage =
  | {
      readonly channel: 'email';
      readonly subject: string;
      /** The plain-text part. */
      readonly body: string;
      /** The HTML part (multipart/alternative with `body`). */
      readonly html: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly channel: 'sms'; readonly body: string };

/** The acknowledge page of a token: `<base>/a/<token>` (a trailing slash on the base is ignored). */
export function ackUrl(feedbackBaseUrl: string, token: string): string {
  return `${feedbackBaseUrl.replace(/\/+$/, '')}/a/${token}`;
}

/**
 * Renders the message for a channel. Email: the subject (the title when the subject is empty); the
 * text part: the body, then a blank line and "Respond: <url>" or "Acknowledge receipt: <url>", then
 * "To stop receiving these messages: <url>"; the HTML part ({@link renderEmailHtml}); its
 * List-Unsubscribe headers. SMS: the text, then " Reply: <url>"
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
      const htmlPart = renderEmailHtml(content, links);
      return links.headers
        ? { channel, subject, body, html: htmlPart, headers: links.headers }
        : { channel, subject, body, html: htmlPart };
    }
    case 'sms': {
      const text = content.smsText.trimEnd();
      if (links.respond) return { channel, body: `${text} Reply: ${links.respond}` };
      if (links.ack) return { channel, body: `${text} Ack: ${links.ack}` };
      return { channel, body: content.smsText };
    }
  }
}

// Light by default, dark under prefers-color-scheme: every colour pair is set explicitly (fg and bg),
// so a client that inverts only one of them cannot leave dark text on dark. Contrast ≥ 7:1 in both.
const STYLE = raw(`
  :root { color-scheme: light dark; supported-color-schemes: light dark; }
  body { margin: 0; padding: 0; background: #ffffff; color: #1a1a1a; }
  .wrap { max-width: 600px; margin: 0 auto; padding: 24px 16px; background: #ffffff; color: #1a1a1a;
    font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
  h1 { font-size: 24px; line-height: 1.25; margin: 0 0 16px; color: #1a1a1a; }
  h2 { font-size: 18px; margin: 24px 0 8px; color: #1a1a1a; }
  p { margin: 0 0 16px; }
  a { color: #0b4f8a; }
  a.button { display: inline-block; margin: 0 8px 8px 0; padding: 12px 20px; border-radius: 6px; border: 2px solid #0b4f8a;
    background: #0b4f8a; color: #ffffff; font-weight: 600; text-decoration: none; }
  .footer { margin-top: 32px; padding-top: 16px; border-top: 1px solid #8c8c8c; font-size: 14px; color: #404040; }
  .footer a { color: #0b4f8a; }
  @media (prefers-color-scheme: dark) {
    body, .wrap { background: #121212 !important; color: #f2f2f2 !important; }
    h1, h2 { color: #f2f2f2 !important; }
    a, .footer a { color: #9ecbff !important; }
    a.button { background: #9ecbff !important; border-color: #9ecbff !important; color: #0a0a0a !important; }
    .footer { color: #d0d0d0 !important; border-top-color: #6e6e6e !important; }
  }`);

/** The body as paragraphs (split on blank lines), single line breaks kept; all text escaped. */
function paragraphs(text: string): SafeHtml[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => html`<p>${join(p.split('\n'), html`<br>`)}</p>`);
}

/**
 * The HTML part of an email: `lang`, the title as heading, the body as escaped paragraphs, a button
 * (a link styled as one, with real text) to acknowledge or one per response option (each opens the
 * response page, which records nothing until the recipient confirms there), the opt-out footer and
 * the open pixel. No scripts, no external resources other than the pixel.
 */
export function renderEmailHtml(content: ContentToRender, links: MessageLinks): string {
  const subject = content.emailSubject || content.title;
  const heading = content.title || subject;
  const options = content.responseOptions ?? [];
  let actions: SafeHtml | undefined;
  const respond = links.respond;
  if (respond) {
    const labels = options.length > 0 ? options : ['Respond to this message'];
    const buttons = labels.map((o) => html`<a class="button" href="${respond}">${o}</a>`);
    actions = html`<h2>Please respond</h2>
<p>${join(buttons, html`\n`)}</p>
<p>Each button opens a page where you confirm your answer.</p>`;
  } else if (links.ack) {
    actions = html`<h2>Please confirm you received this</h2>
<p><a class="button" href="${links.ack}">Acknowledge receipt</a></p>`;
  }
  const footer =
    links.optout &&
    html`<div class="footer" role="contentinfo"><p>You receive this message because you are on an alert list. <a href="${links.optout}">Stop receiving these messages</a>.</p></div>`;
  const pixel =
    links.pixel &&
    html`<img src="${links.pixel}" alt="" width="1" height="1" style="display:block;width:1px;height:1px;border:0">`;
  return String(html`<!doctype html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>${subject}</title>
<style>${STYLE}</style>
</head>
<body style="margin:0;padding:0;background:#ffffff;color:#1a1a1a">
<div class="wrap" role="main">
<h1>${heading}</h1>
${join(paragraphs(content.emailBody), html`\n`)}
${actions}
${footer}
</div>
${pixel}
</body>
</html>
`);
}
