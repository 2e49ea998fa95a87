import { html, raw, type SafeHtml } from '@dlr/html';
import type { LinkChannel, LinkRefusal } from '@dlr/links';
import { refusalStatus, type AnswerRecord, type LatestResponse } from './feedback.js';

/** A rendered HTML page and the status to send it with. */
export interface Page {
  readonly status: number;
  readonly title: string;
  readonly html: string;
}

/** What the pages show of a communication (feedback-link's own copy, from `LinkContent`). */
export interface PageContent {
  readonly title: string;
  readonly emailBody: string;
  readonly smsText: string;
  readonly responseOptions: readonly string[];
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

/** "1 March 2025 at 10:00 UTC": unambiguous wherever the reader is. */
export function formatDate(date: Date): string {
  return `${dateFormat.format(date)} UTC`;
}

// Colours meet WCAG AA (text ≥ 7:1, button 7.6:1); large tap targets; a visible focus ring.
const STYLE = raw(`
  body { margin: 0; background: #fff; color: #1a1a1a; font: 1.125rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { max-width: 34rem; margin: 0 auto; padding: 2rem 1.25rem; }
  h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 1rem; }
  h2 { font-size: 1.125rem; margin: 0 0 0.5rem; }
  p { margin: 0 0 1rem; }
  .message { border-left: 4px solid #0b5394; padding: 0.5rem 0 0.5rem 1rem; margin: 0 0 1.5rem; background: #f3f6fa; }
  .message p { white-space: pre-line; overflow-wrap: anywhere; }
  form { margin: 0 0 1rem; }
  fieldset { border: 0; margin: 0; padding: 0; }
  legend { font-weight: 600; margin-bottom: 0.5rem; padding: 0; }
  button { display: block; font: inherit; font-weight: 600; min-height: 3rem; width: 100%; max-width: 20rem; margin: 0 0 0.75rem;
    padding: 0.75rem 1.5rem; border: 2px solid #0b5394; border-radius: 0.5rem; background: #0b5394; color: #fff; cursor: pointer; }
  button:focus-visible { outline: 3px solid #b45f06; outline-offset: 2px; }
  .note { color: #404040; font-size: 1rem; }`);

function page(status: number, title: string, content: SafeHtml): Page {
  const markup = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${content}
</main>
</body>
</html>
`;
  return { status, title, html: String(markup) };
}

// No action attribute: every form posts back to this page's own URL (the signed or short link).
function form(label: string): SafeHtml {
  return html`<form method="post"><button type="submit">${label}</button></form>`;
}

function optionsForm(options: readonly string[], legend: string, current?: string): SafeHtml {
  const buttons = options.map(
    (o, i) =>
      html`${i > 0 && '\n'}<button type="submit" name="option" value="${i}">${o}${
        o === current && html`<span class="visually-current"> (your current response)</span>`
      }</button>`,
  );
  return html`<form method="post"><fieldset><legend>${legend}</legend>
${buttons}
</fieldset></form>`;
}

function time(date: Date): SafeHtml {
  return html`<time datetime="${date.toISOString()}">${formatDate(date)}</time>`;
}

/** The communication's title and the text of the channel the link came by, escaped (markup shows as text). */
function message(content: PageContent | null, channel: LinkChannel): SafeHtml {
  if (content === null) return html``;
  const text = channel === 'sms' ? content.smsText || content.emailBody : content.emailBody || content.smsText;
  return html`<section class="message" aria-labelledby="message-title">
<h2 id="message-title">${content.title}</h2>
<p>${text.trim()}</p>
</section>`;
}

/** The acknowledge page: the message and an Acknowledge button, or when it was acknowledged. */
export function ackPage(content: PageContent | null, channel: LinkChannel, recorded: AnswerRecord | null): Page {
  if (recorded) {
    return page(
      200,
      'Message acknowledged',
      html`<h1>Message acknowledged</h1>
${message(content, channel)}
<p>You acknowledged this message on ${time(recorded.recordedAt)}.</p>
<p class="note">There is nothing more to do.</p>`,
    );
  }
  const title = 'Acknowledge this message';
  return page(
    200,
    title,
    html`<h1>${title}</h1>
${message(content, channel)}
<p>Press the button to let the sender know you have received this message.</p>
${form('Acknowledge')}`,
  );
}

/** The response page: the message and one button per option; shows the latest response and lets it change. */
export function respondPage(content: PageContent | null, channel: LinkChannel, latest: LatestResponse | null): Page {
  const options = content?.responseOptions ?? [];
  if (options.length === 0) return tryAgainPage(false);
  if (latest) {
    return page(
      200,
      'Your response',
      html`<h1>Your response: ${latest.response}</h1>
${message(content, channel)}
<p>You responded “${latest.response}” on ${time(latest.recordedAt)}.</p>
${optionsForm(options, 'Change your response', latest.response)}`,
    );
  }
  const title = 'Respond to this message';
  return page(
    200,
    title,
    html`<h1>${title}</h1>
${message(content, channel)}
${optionsForm(options, 'Choose your response')}`,
  );
}

/** The opt-out page: a "Stop receiving messages" button, or when the recipient opted out. */
export function optOutPage(content: PageContent | null, channel: LinkChannel, recorded: AnswerRecord | null): Page {
  if (recorded) {
    return page(
      200,
      'You have opted out',
      html`<h1>You have opted out</h1>
<p>You asked on ${time(recorded.recordedAt)} to stop receiving these messages.</p>
<p class="note">If this was a mistake, contact the organisation that sent you the message.</p>`,
    );
  }
  const title = 'Stop receiving messages';
  return page(
    200,
    title,
    html`<h1>${title}</h1>
${message(content, channel)}
<p>Press the button to stop receiving messages at this address from this sender, including emergency messages.</p>
${form('Stop receiving messages')}`,
  );
}

/** The answer to a recorded acknowledgement, response or opt-out. */
export function thanksPage(record: AnswerRecord): Page {
  switch (record.action) {
    case 'respond':
      return page(
        200,
        'Response recorded',
        html`<h1>Thank you — your response “${record.response ?? ''}” has been recorded.</h1>
<p class="note">Recorded on ${time(record.recordedAt)}. You can change it from the same link.</p>`,
      );
    case 'optout':
      return page(
        200,
        'You have opted out',
        html`<h1>You have opted out.</h1>
<p class="note">Recorded on ${time(record.recordedAt)}. You will not receive further messages at this address.</p>`,
      );
    case 'ack':
    case 'read':
      return page(
        200,
        'Acknowledgement recorded',
        html`<h1>Thank you — your acknowledgement has been recorded.</h1>
<p class="note">Recorded on ${time(record.recordedAt)}. You can close this page.</p>`,
      );
  }
}

/**
 * The answer to a POST taken for a machine's (a link scanner, or seconds after the send): nothing
 * ranked; a person presses the button again.
 */
export function confirmAgainPage(responseOptions: readonly string[] | null): Page {
  return page(
    200,
    'Please confirm',
    html`<h1>Please confirm</h1>
<p>We could not tell whether this was you or an automatic link checker. Nothing has been recorded yet.</p>
${responseOptions && responseOptions.length > 0 ? optionsForm(responseOptions, 'Choose your response') : form('Confirm')}`,
  );
}

const REFUSALS: Record<400 | 403 | 404 | 410, { title: string; text: string }> = {
  400: {
    title: 'This link is incomplete',
    text: 'The link may have been cut off or changed when it was copied. Open it again from the message you received, or copy the whole link into your browser.',
  },
  403: {
    title: 'This link cannot be used',
    text: 'This link is not valid or is no longer accepted. Please use the link in the most recent message you received.',
  },
  404: {
    title: 'This link is not known',
    text: 'Check that you copied the whole link from your message. If you still need to reply, contact the organisation that sent you the message.',
  },
  410: {
    title: 'This link has expired',
    text: 'Links in messages work for a limited time only. If you still need to reply, contact the organisation that sent you the message.',
  },
};

/** The page for a refused link: 400 malformed, 403 not ours / rotated out / other action, 404 unknown, 410 expired. */
export function refusedPage(reason: LinkRefusal | 'unknown'): Page {
  const status = refusalStatus(reason);
  const { title, text } = REFUSALS[status];
  return page(
    status,
    title,
    html`<h1>${title}</h1>
<p>${text}</p>
<p class="note">Nothing has been recorded.</p>`,
  );
}

/** The page for a POST whose choice is not one of the options (400): nothing recorded. */
export function badChoicePage(): Page {
  return page(
    400,
    'Please choose a response',
    html`<h1>Please choose a response</h1>
<p>Go back and press one of the response buttons. Nothing has been recorded.</p>`,
  );
}

/** The page when the answer could not be completed just now (503); `retry` offers the button again. */
export function tryAgainPage(retry: boolean): Page {
  const text = retry
    ? 'Your answer has NOT been recorded: we could not save it just now. Please go back and press the button again in a moment.'
    : 'This page is not available just now. Please reload it in a moment.';
  return page(
    503,
    'Please try again',
    html`<h1>Please try again</h1>
<p>${text}</p>`,
  );
}

/** Any other error page (404 unknown address, 4xx bad request, 500). */
export function errorPage(status: number): Page {
  const title =
    status === 404 ? 'Page not found' : status < 500 ? 'This request could not be handled' : 'Something went wrong';
  const text =
    status === 404
      ? 'Check that you copied the whole link from your message.'
      : 'Please open the link from your message again in a moment.';
  return page(status, title, html`<h1>${title}</h1>\n<p>${text}</p>`);
}
