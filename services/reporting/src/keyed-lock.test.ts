import { describe, expect, it } from 'vitest';
import { KeyedLock } from './keyed-lock.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedLock', () => {
  it('runs work on the same key one at a time, in arrival order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const work = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([lock.run(['k'], work('a')), lock.run(['k'], work('b')), lock.run(['k'], work('c'))]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(lock.size).toBe(0);
  });

  it('runs work on different keys at the same time', async () => {
    const lock = new KeyedLock();
    let running = 0;
    let peak = 0;
    const work = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await tick();
      running -= 1;
    };
    await Promise.all([lock.run(['a'], work), lock.run(['b'], work), lock.run(['c'], work)]);
    expect(peak).toBe(3);
  });

  it('does not deadlock on overlapping key sets and releases after a failure', async () => {
    const lock = new KeyedLock();
    const results = await Promise.allSettled([
      lock.run(['x', 'y', 'z'], async () => {
        await tick();
        throw new Error('boom');
      }),
      lock.run(['z', 'x'], async () => 'zx'),
      lock.run(['y'], async () => 'y'),
      lock.run(['y', 'x', 'y'], async () => 'yx'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(lock.size).toBe(0);
  });
});
