import type { Logger } from './logger.js';

/** One step of an ordered shutdown. */
export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
}

/** Default budget of a whole shutdown: inside Kubernetes' default 30 s grace period. */
export const SHUTDOWN_BUDGET_MS = 25_000;

/**
 * Runs the steps in order, each with a deadline (`stepTimeoutMs`, cut to what is left of
 * `totalBudgetMs`, but at least a tenth of a second so the last steps still close their
 * connections); a failing step is logged and the next still runs, so one stuck dependency never
 * keeps the others open, and a store or NATS that is down cannot hold the process past its grace period.
 */
export async function shutdownInOrder(
  steps: readonly ShutdownStep[],
  logger: Logger,
  stepTimeoutMs = 10_000,
  totalBudgetMs = SHUTDOWN_BUDGET_MS,
): Promise<boolean> {
  let clean = true;
  const deadline = Date.now() + totalBudgetMs;
  for (const step of steps) {
    const started = Date.now();
    const timeoutMs = Math.max(100, Math.min(stepTimeoutMs, deadline - started));
    try {
      await Promise.race([
        step.run(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref(),
        ),
      ]);
      logger.debug({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
    } catch (error) {
      clean = false;
      logger.error(
        { step: step.name, err: error instanceof Error ? error.message : String(error) },
        'shutdown step failed',
      );
    }
  }
  return clean;
}

/** What {@link runMain} uses of the process (a test passes its own). */
export interface MainProcess {
  onSignal(signal: 'SIGTERM' | 'SIGINT', listener: () => void): void;
  /** Calls `listener` once if the process that started this one has gone (when asked to watch it). */
  onParentExit?(listener: () => void): void;
  exit(code: number): void;
  writeError(line: string): void;
}

/** Set by a launcher (startSystem) to its own PID: the service then stops when that process is gone. */
export const EXIT_WITH_PARENT_ENV = 'DLR_EXIT_WITH_PARENT';

const nodeProcess: MainProcess = {
  onSignal: (signal, listener) => void process.on(signal, listener),
  onParentExit: (listener) => {
    const parent = Number(process.env[EXIT_WITH_PARENT_ENV]);
    if (!Number.isInteger(parent) || parent <= 0) return;
    // An orphan is re-parented (to init or a subreaper), so its parent PID changes.
    const timer = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(timer);
      listener();
    }, 1_000);
    timer.unref();
  },
  exit: (code) => process.exit(code),
  writeError: (line) => void process.stderr.write(line),
};

/**
 * The body of every `main.ts`: starts the service, then on SIGTERM/SIGINT shuts it down in the
 * order the service returned and exits 0 (1 if a step failed). A start failure is printed as one
 * clear line, without a stack, and exits 1.
 *
 * The signal handlers are installed before starting, so a signal that comes while the service is
 * still starting (its `/readyz` may already answer while its consumers start) is neither lost nor
 * fatal — without a handler Node dies at once, and as PID 1 in a container it ignores the signal
 * until it is killed. The shutdown runs as soon as the start finishes; if the start has not
 * finished `startWaitMs` after the signal, the process exits 1.
 */
export function runMain(
  service: string,
  start: () => Promise<{ readonly logger: Logger; readonly shutdown: readonly ShutdownStep[] }>,
  options: { startWaitMs?: number; process?: MainProcess } = {},
): void {
  const proc = options.process ?? nodeProcess;
  const startWaitMs = options.startWaitMs ?? 10_000;
  let running: { readonly logger: Logger; readonly shutdown: readonly ShutdownStep[] } | undefined;
  let signalled: string | undefined;
  let stopping = false;
  const shutDown = (signal: string) => {
    if (stopping || running === undefined) return;
    stopping = true;
    const { logger, shutdown } = running;
    logger.info({ signal }, 'shutting down');
    void shutdownInOrder(shutdown, logger).then((clean) => {
      logger.info({ clean }, 'stopped');
      proc.exit(clean ? 0 : 1);
    });
  };
  const onSignal = (signal: string) => {
    if (running !== undefined) return shutDown(signal);
    if (signalled !== undefined) return;
    signalled = signal;
    // Still starting (connecting, migrating, starting consumers): shut down once started.
    setTimeout(() => {
      if (running !== undefined) return;
      proc.writeError(`${service}: ${signal} while starting; still not started after ${startWaitMs} ms, exiting\n`);
      proc.exit(1);
    }, startWaitMs).unref();
  };
  proc.onSignal('SIGTERM', () => onSignal('SIGTERM'));
  proc.onSignal('SIGINT', () => onSignal('SIGINT'));
  // A test run or demo killed without stopping its services must not leave them running.
  proc.onParentExit?.(() => onSignal('parent exited'));
  start().then(
    (started) => {
      running = started;
      if (signalled !== undefined) shutDown(signalled);
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      proc.writeError(`${service}: failed to start: ${message}\n`);
      proc.exit(1);
    },
  );
}
