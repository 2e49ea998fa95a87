// Supervising the servers this module starts: spawn with a log file, stop with SIGTERM then SIGKILL, and kill them
// (and remove their temp dirs) when this process exits or dies of a signal, so nothing outlives the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';

const STOP_GRACE_MS = 10_000;

/** A server process started by startChild. */
export interface Child {
  name: string;
  pid: number | undefined;
  logFile: string;
  exited: boolean;
  exitDescription(): string;
  stop(): Promise<void>;
  /** Sends `signal`; resolves once the process has exited (SIGKILL, SIGTERM…). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let handlersInstalled = false;

/** Removes `dir` if this process exits before forgetTempDir(dir). */
export function removeTempDirOnExit(dir: string): void {
  tempDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  tempDirs.delete(dir);
}

function onExit(): void {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(sig: NodeJS.Signals): void {
  // If the program handles this signal itself, it is responsible for calling stop().
  if (process.listenerCount(sig) > 1) return;
  // Otherwise the default would kill us without 'exit': clean up, then die of the same signal.
  onExit();
  removeHandlers();
  process.kill(process.pid, sig);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function removeHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.removeListener('exit', onExit);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

export function startChild(name: string, bin: string, args: string[], logFile: string): Child {
  // Append mode; the descriptor is passed to the child and closed here right after spawn.
  const fd = openLog(logFile);
  let cp: ChildProcess;
  try {
    cp = spawn(bin, args, { stdio: ['ignore', fd, fd], env: process.env });
  } finally {
    closeFd(fd);
  }
  liveChildren.add(cp);
  installHandlers();
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    cp.once('error', (e) => {
      spawnError = e;
      if (cp.pid === undefined) {
        exitInfo = { code: null, signal: null };
        resolve();
      }
    });
    cp.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    });
  }).then(() => {
    liveChildren.delete(cp);
    if (liveChildren.size === 0) removeHandlers();
  });
  return {
    name,
    pid: cp.pid,
    logFile,
    get exited() {
      return exitInfo !== undefined;
    },
    exitDescription() {
      if (spawnError) return `spawn failed: ${spawnError.message}`;
      if (!exitInfo) return 'running';
      return exitInfo.signal ? `killed by ${exitInfo.signal}` : `exit code ${exitInfo.code}`;
    },
    async kill(signal) {
      if (exitInfo) return exited;
      cp.kill(signal);
      return exited;
    },
    async stop() {
      if (exitInfo) return exited;
      cp.kill('SIGTERM');
      const timer = setTimeout(() => cp.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

// Sync fd helpers: the fd must exist before spawn() and be closed after it.
export function openLog(file: string): number {
  return openSync(file, 'a');
}
export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // ignore
  }
}

export async function logTail(file: string, lines = 20): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
