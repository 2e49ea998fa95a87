import { describe, expect, it } from 'vitest';
import {
  ackPage,
  alreadyAcknowledgedPage,
  errorPage,
  escapeHtml,
  formatDate,
  refusedPage,
  thanksPage,
  tryAgainPage,
  type Page,
} from './pages.js';

const recordedAt = new Date('2025-03-01T10:05:00.000Z');

/** What every page must have to be readable on a phone, accessible and unindexed. */
function expectAccessible(page: Page): void {
  expect(page.html).toMatch(/^<!doctype html>\n<html lang="en">/);
  expect(page.html).toContain('<meta charset="utf-8">');
  expect(page.html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  expect(page.html).toContain('<meta name="robots" content="noindex">');
  expect(page.html).toContain(`<title>${escapeHtml(page.title)}</title>`);
  expect(page.html.match(/<main>/g)).toHaveLength(1);
  expect(page.html.match(/<h1>/g)).toHaveLength(1);
  expect(page.html).not.toMatch(/<script/i);
}

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
    expect(escapeHtml('plain text — ok')).toBe('plain text — ok');
  });
});

describe('pages', () => {
  it('offers a real submit button in a POST form on the landing page', () => {
    const page = ackPage();
    expectAccessible(page);
    expect(page.status).toBe(200);
    expect(page.title).toBe('Acknowledge this message');
    expect(page.html).toContain('<h1>Acknowledge this message</h1>');
    expect(page.html).toContain('<form method="post"><button type="submit">Acknowledge</button></form>');
  });

  it('says when the message was acknowledged, without a button, once recorded', () => {
    const page = alreadyAcknowledgedPage(recordedAt);
    expectAccessible(page);
    expect(page.html).toContain(
      'You acknowledged this message on <time datetime="2025-03-01T10:05:00.000Z">1 March 2025 at 10:05 UTC</time>.',
    );
    expect(page.html).not.toContain('<form');
  });

  it('confirms a recorded acknowledgement', () => {
    const page = thanksPage(recordedAt);
    expectAccessible(page);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Thank you — your acknowledgement has been recorded.');
  });

  it.each([
    ['malformed', 400, 'This link is incomplete'],
    ['bad_signature', 403, 'This link cannot be used'],
    ['unknown_key', 403, 'This link cannot be used'],
    ['wrong_action', 403, 'This link cannot be used'],
    ['expired', 410, 'This link has expired'],
  ] as const)('explains a %s link with %i', (reason, status, heading) => {
    const page = refusedPage(reason);
    expectAccessible(page);
    expect(page.status).toBe(status);
    expect(page.html).toContain(`<h1>${heading}</h1>`);
    expect(page.html).toContain('Nothing has been recorded.');
    expect(page.html).not.toContain('<form');
  });

  it('asks to try again with a button after a failed POST, and to reload after a failed GET', () => {
    const post = tryAgainPage(true);
    expectAccessible(post);
    expect(post.status).toBe(503);
    expect(post.html).toContain('<h1>Please try again</h1>');
    expect(post.html).toContain('<button type="submit">Try again</button>');
    const get = tryAgainPage(false);
    expectAccessible(get);
    expect(get.html).not.toContain('<form');
  });

  it('has plain error pages', () => {
    expect(errorPage(404).html).toContain('<h1>Page not found</h1>');
    expect(errorPage(413).status).toBe(413);
    expectAccessible(errorPage(500));
  });

  it('formats dates unambiguously in UTC', () => {
    expect(formatDate(new Date('2025-12-31T23:59:59.999Z'))).toBe('31 December 2025 at 23:59 UTC');
  });
});
