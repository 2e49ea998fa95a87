import { describe, expect, it } from 'vitest';
import { checkSnsTimestamp, checkSnsUrl, isSnsHost, type SnsMessage } from './sns.js';

describe('SNS hosts', () => {
  it.each([
    'sns.us-east-1.amazonaws.com',
    'sns.eu-central-2.amazonaws.com',
    'sns.us-gov-west-1.amazonaws.com',
    'sns.ap-southeast-3.amazonaws.com',
    'sns.cn-north-1.amazonaws.com.cn',
    'sns.cn-northwest-1.amazonaws.com.cn',
  ])('accepts %s', (host) => expect(isSnsHost(host)).toBe(true));

  it.each([
    'sns.attacker.amazonaws.com',
    'sns.us-east-1.amazonaws.com.cn',
    'sns.cn-north-1.amazonaws.com',
    'sns.us-east-1.amazonaws.com.evil.example',
    'evil.sns.us-east-1.amazonaws.com',
    'xsns.us-east-1.amazonaws.com',
    'sns.us-east-1.amazonaws.com.',
    'sns.us-east.amazonaws.com',
    'sns.us-east-1-.amazonaws.com',
    's3.us-east-1.amazonaws.com',
  ])('refuses %s', (host) => expect(isSnsHost(host)).toBe(false));

  it('refuses a URL with a port or credentials, or over http', () => {
    expect(checkSnsUrl('https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem', 'cert')).toMatch(
      /host/,
    );
    expect(checkSnsUrl('https://u:p@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', 'cert')).toMatch(
      /credentials/,
    );
    expect(checkSnsUrl('http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', 'cert')).toMatch(/https/);
    expect(checkSnsUrl('https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', 'cert')).toBeInstanceOf(
      URL,
    );
  });
});

describe('SNS replay window', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');
  const at = (Timestamp: string) => ({ Timestamp }) as SnsMessage;
  it('accepts a Timestamp within the window either way, and refuses one outside it or not a time', () => {
    expect(checkSnsTimestamp(at('2026-03-01T11:00:00.000Z'), now, 3_600)).toBeUndefined();
    expect(checkSnsTimestamp(at('2026-03-01T13:00:00.000Z'), now, 3_600)).toBeUndefined();
    expect(checkSnsTimestamp(at('2026-03-01T10:59:59.999Z'), now, 3_600)).toMatch(/replay window/);
    expect(checkSnsTimestamp(at('2026-03-01T13:00:00.001Z'), now, 3_600)).toMatch(/replay window/);
    expect(checkSnsTimestamp(at('yesterday'), now, 3_600)).toMatch(/ISO 8601/);
    expect(checkSnsTimestamp(at('1700000000'), now, 3_600)).toMatch(/ISO 8601/);
  });
});
