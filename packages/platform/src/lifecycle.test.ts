import { describe, expect, it } from 'vitest';
import { shutdownInOrder, type ShutdownStep } from './lifecycle.js';
import { createLogger } from './logger.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('lifecycle-test', 'debug', {
    write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>),
  });
  return { logger, lines };
}

describe('shutdownInOrder', () => {
  it('runs every step in order and returns true when all finish', async () => {
    const { logger } = capturingLogger();
    const ran: string[] = [];
    const step = (name: string): ShutdownStep => ({
      name,
      run: async () => {
        await Promise.resolve();
        ran.push(name);
      },
    });
    await expect(shutdownInOrder([step('a'), step('b'), step('c')], logger)).resolves.toBe(true);
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('continues after a failing and a timed-out step, logs them, and returns false', async () => {
    const { logger, lines } = capturingLogger();
    const ran: string[] = [];
    const steps: ShutdownStep[] = [
      { name: 'consumers', run: async () => void ran.push('consumers') },
      {
        name: 'broken',
        run: async () => {
          ran.push('broken');
          throw new Error('socket already closed');
        },
      },
      { name: 'middle', run: async () => void ran.push('middle') },
      {
        name: 'stuck',
        run: () => {
          ran.push('stuck');
          return new Promise<void>(() => undefined);
        },
      },
      { name: 'last', run: async () => void ran.push('last') },
    ];
    const started = Date.now();
    await expect(shutdownInOrder(steps, logger, 100)).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(ran).toEqual(['consumers', 'broken', 'middle', 'stuck', 'last']);
    const failures = lines.filter((l) => l.msg === 'shutdown step failed');
    expect(failures.map((l) => [l.step, l.err])).toEqual([
      ['broken', 'socket already closed'],
      ['stuck', 'timed out after 100 ms'],
    ]);
  });

  it('treats a step that throws synchronously as failed and goes on', async () => {
    const { logger } = capturingLogger();
    const ran: string[] = [];
    const steps: ShutdownStep[] = [
      {
        name: 'sync-throw',
        run: () => {
          throw new Error('not a promise');
        },
      },
      { name: 'after', run: async () => void ran.push('after') },
    ];
    await expect(shutdownInOrder(steps, logger, 100)).resolves.toBe(false);
    expect(ran).toEqual(['after']);
  });
});
