import { describe, expect, it } from 'vitest';
import { ackUrl, renderMessage } from './render.js';

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
    expect(renderMessage('email', content, { ack: url })).toEqual({
      channel: 'email',
      subject: 'Flood warning: move to higher ground',
      body: `The river is rising.\nMove to higher ground now.\n\nAcknowledge receipt: ${url}\n`,
    });
  });

  it('renders email with the response link, the opt-out link and the List-Unsubscribe headers', () => {
    const headers = { 'List-Unsubscribe': `<${optout}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
    expect(renderMessage('email', content, { ack: url, respond: url, optout, headers })).toEqual({
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
    expect(renderMessage('email', content, {})).toEqual({
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

describe('ackUrl', () => {
  it('joins base and token, ignoring trailing slashes', () => {
    expect(ackUrl('https://f.example/', 'tok')).toBe('https://f.example/a/tok');
    expect(ackUrl('https://f.example/base', 'tok')).toBe('https://f.example/base/a/tok');
  });
});
