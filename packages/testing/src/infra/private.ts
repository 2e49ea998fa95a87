// A server of a test's own (local binary, fresh data dir), for fault tests that freeze or kill it
// without disturbing the shared servers other test files use.
import { startLocal } from './local.js';
import { InfraUnavailableError } from './types.js';

/** A private server process the test may freeze (SIGSTOP), thaw (SIGCONT) or stop. */
export interface PrivateServer {
  readonly url: string;
  readonly pid: number;
  /** SIGSTOP: the process keeps its sockets open and answers nothing (a stalled store). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
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
  const { servers, stop } = await startLocal(
    { nats: kind === 'nats', mongo: kind === 'mongo' },
    process.env,
    log,
    undefined,
  );
  const server = servers[kind];
  if (server?.pid === undefined) {
    await stop();
    throw new InfraUnavailableError(
      `could not start a private ${kind} server from local binaries: run \`npm test\` once so the harness builds them`,
    );
  }
  const pid = server.pid;
  let stopped = false;
  const signal = (sig: NodeJS.Signals) => {
    if (!stopped) process.kill(pid, sig);
  };
  return {
    url: server.url,
    pid,
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    stop: async () => {
      if (stopped) return;
      signal('SIGCONT');
      stopped = true;
      await stop();
    },
  };
}
