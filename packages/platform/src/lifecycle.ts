import type { Logger } from './logger.js';

/** One step of an ordered shutdown. */
export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
}

/**
 * Runs the steps in order, each with a deadline; a failing step is logged and the next still runs,
 * so one stuck dependency never keeps the others open.
 */
export async function shutdownInOrder(
  steps: readonly ShutdownStep[],
  logger: Logger,
  stepTimeoutMs = 10_000,
): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    const started = Date.now();
    try {
      await Promise.race([
        step.run(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`timed out after ${stepTimeoutMs} ms`)), stepTimeoutMs).unref(),
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

/**
 * The body of every `main.ts`: starts the service, then on SIGTERM/SIGINT shuts it down in the
 * order the service returned and exits 0 (1 if a step failed). A start failure is printed as one
 * clear line, without a stack, and exits 1.
 */
export function runMain(
  service: string,
  start: () => Promise<{ readonly logger: Logger; readonly shutdown: readonly ShutdownStep[] }>,
): void {
  let stopping = false;
  start().then(
    ({ logger, shutdown }) => {
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        void shutdownInOrder(shutdown, logger).then((clean) => {
          logger.info({ clean }, 'stopped');
          process.exit(clean ? 0 : 1);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${service}: failed to start: ${message}\n`);
      process.exit(1);
    },
  );
}
