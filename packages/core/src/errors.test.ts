import { describe, expect, it } from 'vitest';
import { AppError, ConfigError, InvalidArgumentError, isRetryable, NotFoundError, UnavailableError } from './errors.js';

describe('error classes', () => {
  it('carry their class name, code and details', () => {
    const e = new InvalidArgumentError('bad', ['a: x', 'b: y']);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('InvalidArgumentError');
    expect(e.details).toEqual(['a: x', 'b: y']);
    const c = new ConfigError(['A: is required', 'B: bad']);
    expect(c.message).toBe('Invalid configuration:\n  - A: is required\n  - B: bad');
    const cause = new Error('ECONNREFUSED');
    expect(new UnavailableError('down', cause).cause).toBe(cause);
  });

  it('only unavailable and unknown errors are retryable', () => {
    expect(isRetryable(new UnavailableError('x'))).toBe(true);
    expect(isRetryable(new Error('x'))).toBe(true);
    expect(isRetryable(new NotFoundError('x'))).toBe(false);
    expect(isRetryable(new InvalidArgumentError('x'))).toBe(false);
  });
});
