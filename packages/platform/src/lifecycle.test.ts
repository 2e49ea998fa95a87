import { describe, expect, it } from 'vitest';
import { runMain, shutdownInOrder, type MainProcess, type ShutdownStep } from './lifecycle.js';
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

  it('keeps the whole shutdown within its budget when every dependency hangs, and still runs each step', async () => {
    const { logger } = capturingLogger();
    const reached: string[] = [];
    const hang = (name: string): ShutdownStep => ({
      name,
      run: () => {
        reached.push(name);
        return new Promise<void>(() => undefined);
      },
    });
    const started = performance.now();
    const clean = await shutdownInOrder(
      [hang('consumers'), hang('grpc'), hang('mongo'), hang('nats')],
      logger,
      10_000,
      400,
    );
    const took = performance.now() - started;
    expect(clean).toBe(false);
    expect(reached).toEqual(['consumers', 'grpc', 'mongo', 'nats']);
    // The budget, plus the tenth of a second each later step is still given.
    expect(took).toBeLessThan(400 + 3 * 100 + 200);
  });
});

/** A process for `runMain` whose signals the test sends and whose exit it awaits. */
function fakeProcess() {
  const listeners = new Map<string, (() => void)[]>();
  const errors: string[] = [];
  let exited: (code: number) => void = () => undefined;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const proc: MainProcess = {
    onSignal: (signal, listener) => void listeners.set(signal, [...(listeners.get(signal) ?? []), listener]),
    onParentExit: (listener) => void listeners.set('parent', [listener]),
    exit: (code) => exited(code),
    writeError: (line) => void errors.push(line),
  };
  const send = (signal: 'SIGTERM' | 'SIGINT' | 'parent') => {
    for (const listener of listeners.get(signal) ?? []) listener();
  };
  return { proc, send, exit, errors };
}

/** A start the test finishes when it wants, with steps that record that they ran. */
function controlledStart() {
  const { logger, lines } = capturingLogger();
  const ran: string[] = [];
  let finish: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  type Started = { logger: typeof logger; shutdown: ShutdownStep[] };
  // What runMain got from start: awaiting it after runMain runs resumes after runMain's own handler.
  let returned: Promise<Started> | undefined;
  const start = () =>
    (returned = (async () => {
      await started;
      return {
        logger,
        shutdown: [
          { name: 'consumers', run: async () => void ran.push('consumers') },
          { name: 'mongo', run: async () => void ran.push('mongo') },
        ],
      };
    })());
  const handedOver = () => returned;
  return { start, handedOver, finish, fail, ran, lines };
}

describe('runMain', () => {
  it('shuts down on SIGTERM once started and exits 0', async () => {
    const p = fakeProcess();
    const s = controlledStart();
    runMain('svc', s.start, { process: p.proc });
    s.finish();
    await s.handedOver();
    p.send('SIGTERM');
    p.send('SIGTERM'); // a second signal does not shut down twice
    await expect(p.exit).resolves.toBe(0);
    expect(s.ran).toEqual(['consumers', 'mongo']);
  });

  it('keeps a SIGTERM that comes while starting and shuts down as soon as the start finishes', async () => {
    const p = fakeProcess();
    const s = controlledStart();
    runMain('svc', s.start, { process: p.proc, startWaitMs: 60_000 });
    p.send('SIGTERM');
    expect(s.ran).toEqual([]);
    s.finish();
    await expect(p.exit).resolves.toBe(0);
    expect(s.ran).toEqual(['consumers', 'mongo']);
    expect(s.lines.find((l) => l.msg === 'shutting down')?.signal).toBe('SIGTERM');
    expect(p.errors).toEqual([]);
  });

  it('exits 1 with one line when a start interrupted by SIGINT does not finish in time', async () => {
    const p = fakeProcess();
    const s = controlledStart();
    runMain('svc', s.start, { process: p.proc, startWaitMs: 50 });
    p.send('SIGINT');
    await expect(p.exit).resolves.toBe(1);
    expect(p.errors).toEqual(['svc: SIGINT while starting; still not started after 50 ms, exiting\n']);
    expect(s.ran).toEqual([]);
  });

  it('shuts down cleanly when the process that started it is gone', async () => {
    const p = fakeProcess();
    const s = controlledStart();
    runMain('svc', s.start, { process: p.proc });
    s.finish();
    await s.handedOver();
    p.send('parent');
    await expect(p.exit).resolves.toBe(0);
    expect(s.ran).toEqual(['consumers', 'mongo']);
    expect(s.lines.find((l) => l.msg === 'shutting down')?.signal).toBe('parent exited');
  });

  it('prints a failed start as one line and exits 1', async () => {
    const p = fakeProcess();
    const s = controlledStart();
    runMain('svc', s.start, { process: p.proc });
    s.fail(new Error('Cannot connect to NATS'));
    await expect(p.exit).resolves.toBe(1);
    expect(p.errors).toEqual(['svc: failed to start: Cannot connect to NATS\n']);
  });
});
