import type { LinkRefusal } from '@dlr/links';
import { refusalStatus } from './feedback.js';

/** A rendered HTML page and the status to send it with. */
export interface Page {
  readonly status: number;
  readonly title: string;
  readonly html: string;
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

/** "1 March 2025 at 10:00 UTC": unambiguous wherever the reader is. */
export function formatDate(date: Date): string {
  return `${dateFormat.format(date)} UTC`;
}

const STYLE = `
  :root { color-scheme: light dark; }
  body { margin: 0; font: 1.125rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { max-width: 34rem; margin: 0 auto; padding: 2rem 1.25rem; }
  h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 1rem; }
  p { margin: 0 0 1rem; }
  button { font: inherit; font-weight: 600; min-height: 3rem; width: 100%; max-width: 20rem; padding: 0.75rem 1.5rem;
    border: 2px solid #0b5394; border-radius: 0.5rem; background: #0b5394; color: #fff; cursor: pointer; }
  button:focus-visible { outline: 3px solid #f1c232; outline-offset: 2px; }
  .note { color: GrayText; font-size: 1rem; }`;

function page(status: number, title: string, content: string): Page {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${content}
</main>
</body>
</html>
`;
  return { status, title, html };
}

function form(label: string): string {
  // No action attribute: the form posts back to this page's own URL (the signed link).
  return `<form method="post"><button type="submit">${escapeHtml(label)}</button></form>`;
}

function time(date: Date): string {
  return `<time datetime="${escapeHtml(date.toISOString())}">${escapeHtml(formatDate(date))}</time>`;
}

/** The landing page of a valid link not yet used: a button that POSTs the acknowledgement. */
export function ackPage(): Page {
  const title = 'Acknowledge this message';
  return page(
    200,
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>Press the button to let the sender know you have received this message.</p>
${form('Acknowledge')}`,
  );
}

/** The landing page of a link already used: says when, offers no button. */
export function alreadyAcknowledgedPage(recordedAt: Date): Page {
  return page(
    200,
    'Message acknowledged',
    `<h1>Message acknowledged</h1>
<p>You acknowledged this message on ${time(recordedAt)}.</p>
<p class="note">There is nothing more to do.</p>`,
  );
}

/** The answer to a recorded acknowledgement (first time or repeat). */
export function thanksPage(recordedAt: Date): Page {
  return page(
    200,
    'Acknowledgement recorded',
    `<h1>Thank you — your acknowledgement has been recorded.</h1>
<p class="note">Recorded on ${time(recordedAt)}. You can close this page.</p>`,
  );
}

const REFUSALS: Record<400 | 403 | 410, { title: string; text: string }> = {
  400: {
    title: 'This link is incomplete',
    text: 'The link may have been cut off or changed when it was copied. Open it again from the message you received, or copy the whole link into your browser.',
  },
  403: {
    title: 'This link cannot be used',
    text: 'This link is not valid or is no longer accepted. Please use the link in the most recent message you received.',
  },
  410: {
    title: 'This link has expired',
    text: 'Links to acknowledge a message work for a limited time only. If you still need to reply, contact the organisation that sent you the message.',
  },
};

/** The page for a refused link: 400 malformed, 403 not ours / rotated out / other action, 410 expired. */
export function refusedPage(reason: LinkRefusal): Page {
  const status = refusalStatus(reason);
  const { title, text } = REFUSALS[status];
  return page(
    status,
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(text)}</p>
<p class="note">Nothing has been recorded.</p>`,
  );
}

/** The page when the acknowledgement could not be completed just now (503); `retry` offers the button again. */
export function tryAgainPage(retry: boolean): Page {
  const text = retry
    ? 'We could not finish recording your acknowledgement just now. Please press the button again in a moment.'
    : 'This page is not available just now. Please reload it in a moment.';
  return page(
    503,
    'Please try again',
    `<h1>Please try again</h1>
<p>${escapeHtml(text)}</p>
${retry ? form('Try again') : ''}`,
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
  return page(status, title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}
