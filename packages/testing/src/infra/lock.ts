// A lock between processes on this machine (and others sharing the cache dir), held while one of them builds a binary.
import { randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from './common.js';

const LOCK_STALE_MS = 2 * 60_000;
const LOCK_WAIT_MS = 30 * 60_000;

/**
 * A mkdir-based lock: mkdir is atomic. The owner writes owner.json and touches the dir every 20 s while it holds
 * the lock; a lock whose owner is dead (same host) or that was not touched for 2 minutes is stale and taken over.
 */
export async function acquireLock(
  lockDir: string,
  what: string,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      await fsp.mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const stale = await lockIsStale(lockDir);
    if (stale) {
      log(`${what}: taking over stale install lock ${lockDir} (${stale})`);
      const aside = `${lockDir}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
      try {
        await fsp.rename(lockDir, aside);
        await fsp.rm(aside, { recursive: true, force: true });
      } catch {
        // someone else took it over first; go round again
      }
      continue;
    }
    if (!told) {
      log(`${what}: another process is installing it (lock ${lockDir}); waiting…`);
      told = true;
    }
    if (Date.now() - started > LOCK_WAIT_MS) {
      throw new Error(`timed out after ${LOCK_WAIT_MS / 60_000} min waiting for install lock ${lockDir}`);
    }
    await sleep(1_000);
  }
  await fsp.writeFile(
    path.join(lockDir, 'owner.json'),
    JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }),
  );
  const beat = setInterval(() => {
    const now = new Date();
    fsp.utimes(lockDir, now, now).catch(() => {});
  }, 20_000);
  beat.unref();
  return async () => {
    clearInterval(beat);
    await fsp.rm(lockDir, { recursive: true, force: true });
  };
}

async function lockIsStale(lockDir: string): Promise<string | undefined> {
  try {
    const owner = JSON.parse(await fsp.readFile(path.join(lockDir, 'owner.json'), 'utf8')) as {
      pid?: number;
      host?: string;
    };
    if (owner.host === os.hostname() && typeof owner.pid === 'number' && !pidAlive(owner.pid)) {
      return `owner pid ${owner.pid} is gone`;
    }
  } catch {
    // no owner.json yet (or being written): fall back to age
  }
  try {
    const st = await fsp.stat(lockDir);
    const age = Date.now() - st.mtimeMs;
    if (age > LOCK_STALE_MS) return `not touched for ${Math.round(age / 1000)} s`;
  } catch {
    return 'vanished';
  }
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
