import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnavailableError } from './errors.js';
import { isTransient } from './transient.js';

function named(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(Object.defineProperty(new Error(name), 'name', { value: name }), extra);
}

describe('isTransient', () => {
  it('reads outages of MongoDB and NATS as transient, by class name, label or server code', () => {
    expect(isTransient(named('MongoServerSelectionError'))).toBe(true);
    expect(isTransient(named('MongoNetworkTimeoutError'))).toBe(true);
    expect(isTransient(named('TimeoutError'))).toBe(true);
    expect(isTransient(named('NoRespondersError'))).toBe(true);
    expect(isTransient(named('MongoServerError', { code: 91 }))).toBe(true);
    expect(isTransient(named('MongoServerError', { hasErrorLabel: (l: string) => l === 'RetryableWriteError' }))).toBe(
      true,
    );
    expect(isTransient(new UnavailableError('store down'))).toBe(true);
  });

  it('follows causes', () => {
    expect(isTransient(new Error('wrapped', { cause: named('MongoNetworkError') }))).toBe(true);
  });

  it('reads everything else as not transient', () => {
    expect(isTransient(new InvalidArgumentError('bad'))).toBe(false);
    expect(isTransient(named('MongoServerError', { code: 11000 }))).toBe(false);
    expect(isTransient(new Error('boom'))).toBe(false);
    expect(isTransient(undefined)).toBe(false);
    expect(isTransient('text')).toBe(false);
  });
});
