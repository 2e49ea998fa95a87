import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, retry } from './retry.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('backoffDelay', () => {
  it('stays between half and all of the exponential ceiling, capped at the maximum', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt, 500, 30_000);
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it('reaches both ends of the range', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(backoffDelay(1, 200, 5_000)).toBe(100);
    expect(backoffDelay(3, 200, 5_000)).toBe(400);
    expect(backoffDelay(20, 200, 5_000)).toBe(2_500);
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    expect(backoffDelay(1, 200, 5_000)).toBe(200);
    expect(backoffDelay(3, 200, 5_000)).toBe(800);
    expect(backoffDelay(20, 200, 5_000)).toBe(5_000);
  });
});

describe('retry', () => {
  const fast = { initialDelayMs: 1, maxDelayMs: 4 };

  it('returns the first success without waiting', async () => {
    const fn = vi.fn(async (attempt: number) => `ok ${attempt}`);
    await expect(retry(fn, { attempts: 5, ...fast })).resolves.toBe('ok 1');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries until success, passing the 1-based attempt and reporting each retry', async () => {
    const onRetry = vi.fn<(error: unknown, attempt: number, delayMs: number) => void>();
    const fn = vi.fn(async (attempt: number) => {
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return attempt;
    });
    await expect(retry(fn, { attempts: 5, ...fast, onRetry })).resolves.toBe(3);
    expect(fn.mock.calls.map(([a]) => a)).toEqual([1, 2, 3]);
    expect(onRetry).toHaveBeenCalledTimes(2);
    expect(onRetry.mock.calls.map(([e, a]) => [(e as Error).message, a])).toEqual([
      ['fail 1', 1],
      ['fail 2', 2],
    ]);
    for (const [, , delay] of onRetry.mock.calls) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(4);
    }
  });

  it('makes exactly `attempts` calls and throws the last error', async () => {
    const fn = vi.fn(async (attempt: number) => {
      throw new Error(`fail ${attempt}`);
    });
    await expect(retry(fn, { attempts: 4, ...fast })).rejects.toThrow('fail 4');
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('stops at once when retryIf returns false', async () => {
    const permanent = new Error('permanent');
    const fn = vi.fn(async (attempt: number) => {
      throw attempt === 1 ? new Error('transient') : permanent;
    });
    const retryIf = vi.fn((e: unknown) => e !== permanent);
    await expect(retry(fn, { attempts: 10, ...fast, retryIf })).rejects.toBe(permanent);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(retryIf).toHaveBeenCalledTimes(2);
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      controller.abort();
      throw new Error('down');
    });
    await expect(retry(fn, { attempts: 10, ...fast, signal: controller.signal })).rejects.toThrow('down');
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
