import { DeliveryStatus } from '@dlr/contracts';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { mapMailgunEvent } from './mailgun.js';
import { messageKey, readCorrelation } from './provider-event.js';
import { sendgridEvents } from './sendgrid.js';
import { snsStringToSign, type SnsMessage } from './sns.js';
import { parseForm, twilioSignature } from './twilio.js';

describe('provider message keys', () => {
  it('agree between what a send call returns and what events carry', () => {
    expect(messageKey('sendgrid', 'W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3mdw1-756b-18-5F5FC76C-9.0')).toBe(
      messageKey('sendgrid', 'W86EgYT6SQKk0lRflfLRsA'),
    );
    expect(messageKey('sendgrid', '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0')).toBe(
      'sendgrid:14c5d75ce93.dfd.64b469',
    );
    expect(messageKey('mailgun', '<20111114174239.25659.5817@samples.mailgun.org>')).toBe(
      messageKey('mailgun', '20111114174239.25659.5817@samples.mailgun.org'),
    );
    expect(messageKey('ses', '0100-abc-000000')).toBe('ses:0100-abc-000000');
  });
});

describe('readCorrelation', () => {
  it('is undefined when no ID is there, a problem when some are missing or bad', () => {
    expect(readCorrelation(undefined, undefined, undefined)).toBeUndefined();
    expect(readCorrelation('d_1', 'c_1', '3')).toEqual({ deliveryId: 'd_1', communicationId: 'c_1', attempt: 3 });
    expect(readCorrelation('d_1', undefined, '3')).toMatchObject({ problems: ['communication_id: invalid'] });
    expect(readCorrelation('d 1', 'c_1', '0')).toMatchObject({ problems: expect.arrayContaining([]) });
  });
});

describe('twilioSignature', () => {
  it('equals the twilio package, repeated and unordered parameters included', () => {
    const url = 'https://hooks.example.org/v1/callbacks/twilio?d=d_1&c=c_1&a=1';
    const body = 'To=%2B61400675310&MessageStatus=sent&MessageSid=SM1&Media=b&Media=a&Body=hi+there';
    const params: Record<string, string | string[]> = {};
    for (const [k, v] of parseForm(body)) params[k] = v.length > 1 ? [...v] : v[0]!;
    expect(twilioSignature('token-0123456789abcdef', url, parseForm(body))).toBe(
      twilio.getExpectedTwilioSignature('token-0123456789abcdef', url, params),
    );
  });
});

describe('snsStringToSign', () => {
  const base = {
    Type: 'Notification',
    MessageId: 'm1',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
    Message: 'hello',
    Timestamp: '2024-01-01T00:00:00.000Z',
    SignatureVersion: '1',
    Signature: 'x',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/c.pem',
  } as const satisfies SnsMessage;

  it('signs Subject only when present, in key order', () => {
    expect(snsStringToSign(base)).toBe(
      'Message\nhello\nMessageId\nm1\nTimestamp\n2024-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nNotification\n',
    );
    expect(snsStringToSign({ ...base, Subject: 's' })).toContain('MessageId\nm1\nSubject\ns\nTimestamp\n');
  });
});

describe('mappings', () => {
  it('reads Mailgun severities and suppressions', () => {
    expect(mapMailgunEvent({ event: 'failed', severity: 'permanent', reason: 'suppress-bounce' })).toEqual({
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'suppressed',
    });
    expect(mapMailgunEvent({ event: 'failed' })).toBeUndefined();
    expect(mapMailgunEvent({ event: 'clicked' })).toBeUndefined();
  });

  it('matches a SendGrid deferred event by message ID: its own `attempt` shadows ours unless dlr_attempt is sent', () => {
    const e = {
      event: 'deferred',
      sg_event_id: 'e1',
      sg_message_id: 'm.filter1',
      delivery_id: 'd_1',
      communication_id: 'c_1',
    };
    const shadowed = sendgridEvents(JSON.stringify([{ ...e, attempt: '5' }]));
    expect(shadowed.ok && shadowed.events[0]?.correlation).toBeUndefined();
    const explicit = sendgridEvents(JSON.stringify([{ ...e, attempt: '5', dlr_attempt: '2' }]));
    expect(explicit.ok && explicit.events[0]?.correlation).toEqual({
      deliveryId: 'd_1',
      communicationId: 'c_1',
      attempt: 2,
    });
  });
});
