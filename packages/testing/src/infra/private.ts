// A server of a test's own (local binary, fresh data dir), for fault tests that freeze or kill it
// without disturbing the shared servers other test files use.
import { startLocal } from './local.js';
import { InfraUnavailableError } from './types.js';

/** A private server process the test may freeze (SIGSTOP), thaw (SIGCONT), kill, restart or stop. */
export interface PrivateServer {
  readonly url: string;
  /** The current process (another one after {@link restart}). */
  readonly pid: number;
  /** SIGSTOP: the process keeps its sockets open and answers nothing (a stalled store). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  /** SIGKILL (a crash: nothing flushed, no goodbye to clients); resolves once it is gone. */
  kill(): Promise<void>;
  /** After {@link kill}: starts it again on the same port and data directory, resolves once it answers. */
  restart(): Promise<void>;
  /** Thaws if frozen, stops the process and removes its data. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a private FerretDB (`kind: 'mongo'`) or nats-server with JetStream (`kind: 'nats'`) from the
 * binaries the harness builds. Throws an {@link InfraUnavailableError} saying how to fix it when it cannot.
 */
export async function startPrivateServer(
  kind: 'mongo' | 'nats',
  log: (line: string) => void = (line) => process.stderr.write(`[private ${kind}] ${line}\n`),
): Promise<PrivateServer> {
  const { servers, controls, stop } = await startLocal(
    { nats: kind === 'nats', mongo: kind === 'mongo' },
    process.env,
    log,
    undefined,
  );
  const server = servers[kind];
  const control = controls[kind];
  if (server?.pid === undefined || control === undefined) {
    await stop();
    throw new InfraUnavailableError(
      `could not start a private ${kind} server from local binaries: run \`npm test\` once so the harness builds them`,
    );
  }
  let stopped = false;
  let killed = false;
  const signal = (sig: NodeJS.Signals) => {
    const pid = control.pid();
    if (!stopped && !killed && pid !== undefined) process.kill(pid, sig);
  };
  return {
    url: server.url,
    get pid() {
      return control.pid() ?? -1;
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    kill: async () => {
      if (stopped || killed) return;
      killed = true;
      await control.kill();
    },
    restart: async () => {
      if (stopped) throw new Error(`the private ${kind} server was stopped`);
      await control.restart();
      killed = false;
    },
    stop: async () => {
      if (stopped) return;
      signal('SIGCONT');
      stopped = true;
      await stop();
    },
  };
}
