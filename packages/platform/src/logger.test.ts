import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED_KEYS } from './logger.js';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string; write: (s: string) => void } {
  const chunks: string[] = [];
  return {
    write: (s: string) => void chunks.push(s),
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const personal = {
  email: 'jane.doe@example.com',
  phone: '+61400109991',
  address: '12 Elm Street, Springfield',
  name: 'Jane Doe',
  recipientName: 'Janet Q. Doe',
  to: 'to-address@example.org',
  body: 'Your appointment is at 9am, love Mum',
  token: 'tok_abcdefghijklmnop',
};

describe('createLogger', () => {
  it('redacts personal data at the top level and one level down, keeps IDs and the service', () => {
    const out = capture();
    const logger = createLogger('svc-under-test', 'info', out);
    logger.info({ ...personal, deliveryId: 'd_top123', communicationId: 'c_top456' }, 'top level');
    logger.info({ recipient: { ...personal, deliveryId: 'd_nested789' }, attempt: 2 }, 'nested');
    logger.child({ component: 'http' }).warn({ delivery: { ...personal } }, 'from a child');

    const raw = out.raw();
    for (const value of Object.values(personal)) expect(raw).not.toContain(value);

    const [top, nested, child] = out.lines();
    expect(top).toMatchObject({
      service: 'svc-under-test',
      level: 'info',
      msg: 'top level',
      deliveryId: 'd_top123',
      communicationId: 'c_top456',
    });
    for (const key of Object.keys(personal)) expect(top![key]).toBe('[redacted]');
    expect(typeof top!.time).toBe('string');

    expect(nested).toMatchObject({ service: 'svc-under-test', attempt: 2, recipient: { deliveryId: 'd_nested789' } });
    const recipient = nested!.recipient as Record<string, unknown>;
    for (const key of Object.keys(personal)) expect(recipient[key]).toBe('[redacted]');

    expect(child).toMatchObject({ service: 'svc-under-test', component: 'http', level: 'warn' });
    expect(child!.delivery).toEqual(Object.fromEntries(Object.keys(personal).map((k) => [k, '[redacted]'])));
  });

  it('covers every key in REDACTED_KEYS', () => {
    const out = capture();
    const logger = createLogger('svc', 'info', out);
    const fields = Object.fromEntries(REDACTED_KEYS.map((k) => [k, `value-of-${k}`]));
    logger.info({ ...fields, nested: fields }, 'all keys');
    expect(out.raw()).not.toContain('value-of-');
  });

  it('honours the level', () => {
    const out = capture();
    const logger = createLogger('svc', 'warn', out);
    logger.info({ deliveryId: 'd_1' }, 'hidden');
    logger.error({ deliveryId: 'd_2' }, 'shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
    createLogger('svc', 'silent', out).error('never');
    expect(out.lines()).toHaveLength(1);
  });
});
