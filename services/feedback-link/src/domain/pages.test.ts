import { escapeHtml } from '@dlr/html';
import { describe, expect, it } from 'vitest';
import type { AnswerRecord } from './feedback.js';
import {
  ackPage,
  confirmAgainPage,
  errorPage,
  formatDate,
  optOutPage,
  refusedPage,
  respondPage,
  thanksPage,
  tryAgainPage,
  type Page,
  type PageContent,
} from './pages.js';

const recordedAt = new Date('2025-03-01T10:05:00.000Z');
const content: PageContent = {
  title: 'Flood warning',
  emailBody: 'The river is rising.\nMove to higher ground.',
  smsText: 'Flood: move to higher ground.',
  responseOptions: ['Safe', 'Need help'],
};
const ack: AnswerRecord = {
  _id: 'd_1:ack',
  deliveryId: 'd_1',
  communicationId: 'c_1',
  action: 'ack',
  recordedAt,
  via: 'page',
};

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

describe('pages', () => {
  it('shows the message of the link’s channel and a real submit button on the acknowledge page', () => {
    const page = ackPage(content, 'email', null);
    expectAccessible(page);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h1>Acknowledge this message</h1>');
    expect(page.html).toContain('<h2 id="message-title">Flood warning</h2>');
    expect(page.html).toContain('The river is rising.\nMove to higher ground.');
    expect(page.html).toContain('<form method="post"><button type="submit">Acknowledge</button></form>');
    expect(ackPage(content, 'sms', null).html).toContain('Flood: move to higher ground.');
  });

  it('renders script in the communication’s text inert', () => {
    const evil = { ...content, title: '<script>alert(1)</script>', emailBody: '<img src=x onerror=alert(1)>' };
    for (const page of [
      ackPage(evil, 'email', null),
      respondPage(evil, 'email', null),
      optOutPage(evil, 'email', null),
    ]) {
      expect(page.html).not.toMatch(/<script|<img/i);
      expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    const options = respondPage({ ...content, responseOptions: ['"><script>x</script>'] }, 'sms', null);
    expect(options.html).not.toContain('<script>');
  });

  it('says when the message was acknowledged, without a button, once recorded', () => {
    const page = ackPage(content, 'email', ack);
    expectAccessible(page);
    expect(page.html).toContain(
      'You acknowledged this message on <time datetime="2025-03-01T10:05:00.000Z">1 March 2025 at 10:05 UTC</time>.',
    );
    expect(page.html).not.toContain('<form');
  });

  it('offers every response option as a button, and shows the latest response with a way to change it', () => {
    const page = respondPage(content, 'email', null);
    expectAccessible(page);
    expect(page.html).toContain('<legend>Choose your response</legend>');
    expect(page.html).toContain('<button type="submit" name="option" value="0">Safe</button>');
    expect(page.html).toContain('<button type="submit" name="option" value="1">Need help</button>');
    const again = respondPage(content, 'email', {
      _id: 'd_1:response',
      responseId: 'x',
      response: 'Need help',
      recordedAt,
    });
    expectAccessible(again);
    expect(again.html).toContain('<h1>Your response: Need help</h1>');
    expect(again.html).toContain('<legend>Change your response</legend>');
  });

  it('offers opt-out with a button, then says it is done', () => {
    expectAccessible(optOutPage(content, 'email', null));
    expect(optOutPage(content, 'email', null).html).toContain('<button type="submit">Stop receiving messages</button>');
    const done = optOutPage(content, 'email', { ...ack, action: 'optout' });
    expect(done.html).toContain('<h1>You have opted out</h1>');
    expect(done.html).not.toContain('<form');
  });

  it('confirms what was recorded', () => {
    expect(thanksPage(ack).html).toContain('Thank you — your acknowledgement has been recorded.');
    expect(thanksPage({ ...ack, action: 'respond', response: 'Safe' }).html).toContain('your response “Safe”');
    expect(thanksPage({ ...ack, action: 'optout' }).html).toContain('You have opted out.');
    expectAccessible(confirmAgainPage(null));
    expect(confirmAgainPage(['Safe']).html).toContain('value="0">Safe</button>');
  });

  it.each([
    ['malformed', 400, 'This link is incomplete'],
    ['bad_signature', 403, 'This link cannot be used'],
    ['unknown_key', 403, 'This link cannot be used'],
    ['wrong_action', 403, 'This link cannot be used'],
    ['unknown', 404, 'This link is not known'],
    ['expired', 410, 'This link has expired'],
  ] as const)('explains a %s link with %i', (reason, status, heading) => {
    const page = refusedPage(reason);
    expectAccessible(page);
    expect(page.status).toBe(status);
    expect(page.html).toContain(`<h1>${heading}</h1>`);
    expect(page.html).toContain('Nothing has been recorded.');
    expect(page.html).not.toContain('<form');
  });

  it('asks to try again after a failure', () => {
    const post = tryAgainPage(true);
    expectAccessible(post);
    expect(post.status).toBe(503);
    expect(post.html).toContain('<h1>Please try again</h1>');
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
