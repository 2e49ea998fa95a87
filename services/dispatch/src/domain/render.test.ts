import { describe, expect, it } from 'vitest';
import { ackUrl, renderEmailHtml, renderMessage } from './render.js';

const content = {
  title: 'Flood warning',
  emailSubject: 'Flood warning: move to higher ground',
  emailBody: 'The river is rising.\nMove to higher ground now.\n',
  smsText: 'Flood warning: move to higher ground now.',
};
const url = 'https://feedback.example/a/v1.k1.abc.def';
const optout = 'https://feedback.example/u/v1.k1.opt.def';

describe('renderMessage', () => {
  it('renders email with the acknowledge line after the body', () => {
    expect(renderMessage('email', content, { ack: url })).toMatchObject({
      channel: 'email',
      subject: 'Flood warning: move to higher ground',
      body: `The river is rising.\nMove to higher ground now.\n\nAcknowledge receipt: ${url}\n`,
    });
  });

  it('renders email with the response link, the opt-out link and the List-Unsubscribe headers', () => {
    const headers = { 'List-Unsubscribe': `<${optout}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
    expect(renderMessage('email', content, { ack: url, respond: url, optout, headers })).toMatchObject({
      channel: 'email',
      subject: content.emailSubject,
      body: `The river is rising.\nMove to higher ground now.\n\nRespond: ${url}\n\nTo stop receiving these messages: ${optout}\n`,
      headers,
    });
  });

  it('renders SMS with " Ack: <url>" or " Reply: <url>" appended', () => {
    expect(renderMessage('sms', content, { ack: url })).toEqual({
      channel: 'sms',
      body: `Flood warning: move to higher ground now. Ack: ${url}`,
    });
    expect(renderMessage('sms', content, { respond: url })).toEqual({
      channel: 'sms',
      body: `Flood warning: move to higher ground now. Reply: ${url}`,
    });
  });

  it('leaves the content as it is without links', () => {
    expect(renderMessage('email', content, {})).toMatchObject({
      channel: 'email',
      subject: content.emailSubject,
      body: content.emailBody,
    });
    expect(renderMessage('sms', content, {})).toEqual({ channel: 'sms', body: content.smsText });
  });

  it('falls back to the title for an empty email subject', () => {
    expect(renderMessage('email', { ...content, emailSubject: '' }, {})).toMatchObject({ subject: 'Flood warning' });
  });
});

describe('renderEmailHtml', () => {
  const pixel = 'https://feedback.example/o/v1.k1.read.def';
  const respond = 'https://feedback.example/a/v1.k1.resp.def';

  it('is an accessible document: language, colour schemes, the title as heading, the body as paragraphs', () => {
    const page = renderEmailHtml(content, {});
    expect(page).toMatch(/^<!doctype html>\n<html lang="en" dir="ltr">/);
    expect(page).toContain('<meta name="color-scheme" content="light dark">');
    expect(page).toContain('<title>Flood warning: move to higher ground</title>');
    expect(page).toContain('<h1>Flood warning</h1>');
    expect(page).toContain('<p>The river is rising.<br>Move to higher ground now.</p>');
    // Explicit foreground and background in both schemes.
    expect(page).toContain('background: #ffffff; color: #1a1a1a;');
    expect(page).toMatch(
      /@media \(prefers-color-scheme: dark\) \{\s*body, \.wrap \{ background: #121212 !important; color: #f2f2f2 !important; \}/,
    );
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script');
  });

  it('escapes the content', () => {
    const page = renderEmailHtml(
      {
        ...content,
        title: 'A & <b>',
        emailBody: '<script>alert(1)</script>\n\nSecond "para"',
        responseOptions: ['<i>'],
      },
      { respond },
    );
    expect(page).toContain('<h1>A &amp; &lt;b&gt;</h1>');
    expect(page).toContain('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p>Second &quot;para&quot;</p>');
    expect(page).toContain(`<a class="button" href="${respond}">&lt;i&gt;</a>`);
    expect(page).not.toContain('<script>');
  });

  it('offers one button per response option, the opt-out footer and the open pixel', () => {
    const page = renderEmailHtml(
      { ...content, responseOptions: ['I am safe', 'I need help'] },
      { respond, ack: url, optout, pixel },
    );
    expect(page).toContain(`<a class="button" href="${respond}">I am safe</a>`);
    expect(page).toContain(`<a class="button" href="${respond}">I need help</a>`);
    expect(page).not.toContain('Acknowledge receipt');
    expect(page).toContain(`<a href="${optout}">Stop receiving these messages</a>`);
    expect(page).toContain(
      `<img src="${pixel}" alt="" width="1" height="1" style="display:block;width:1px;height:1px;border:0">`,
    );
  });

  it('offers an Acknowledge button when acknowledgement is asked', () => {
    expect(renderEmailHtml(content, { ack: url })).toContain(`<a class="button" href="${url}">Acknowledge receipt</a>`);
  });

  it('is the html part of the rendered email', () => {
    const links = { ack: url, optout, pixel };
    expect(renderMessage('email', content, links)).toMatchObject({ html: renderEmailHtml(content, links) });
    expect(renderMessage('sms', content, links)).not.toHaveProperty('html');
  });
});

describe('ackUrl', () => {
  it('joins base and token, ignoring trailing slashes', () => {
    expect(ackUrl('https://f.example/', 'tok')).toBe('https://f.example/a/tok');
    expect(ackUrl('https://f.example/base', 'tok')).toBe('https://f.example/base/a/tok');
  });
});
