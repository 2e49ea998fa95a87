// A `helm` binary for the chart tests, built from source with `go install` into the per-user cache that
// @dlr/testing uses for nats-server and FerretDB. Built once; later runs find it there.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { infraCacheDir } from '@dlr/testing';

/** The Helm release the tests build and run. */
export const HELM_VERSION = 'v3.22.0';
const HELM_MODULE = 'helm.sh/helm/v3';
/**
 * Helm's Makefile stamps the version and the default Kubernetes version (from its client-go dependency,
 * v0.37 → 1.37) with -ldflags; a plain `go install` would report "v3.22" and Kubernetes 1.20, and
 * `helm template` would then refuse our chart's `kubeVersion: >=1.30`.
 */
const K8S_MAJOR = '1';
const K8S_MINOR = '37';
const LDFLAGS = [
  '-s',
  '-w',
  `-X ${HELM_MODULE}/internal/version.version=${HELM_VERSION}`,
  `-X ${HELM_MODULE}/pkg/chartutil.k8sVersionMajor=${K8S_MAJOR}`,
  `-X ${HELM_MODULE}/pkg/chartutil.k8sVersionMinor=${K8S_MINOR}`,
  `-X ${HELM_MODULE}/pkg/lint/rules.k8sVersionMajor=${K8S_MAJOR}`,
  `-X ${HELM_MODULE}/pkg/lint/rules.k8sVersionMinor=${K8S_MINOR}`,
].join(' ');

const LOCK_STALE_MS = 2 * 60_000;
const LOCK_WAIT_MS = 20 * 60_000;

/** Where the binary is, and whether this call built it (and how long that took). */
export interface HelmBinary {
  path: string;
  builtInMs?: number;
}

function log(line: string): void {
  process.stderr.write(`[helm] ${line}\n`);
}

function helmWorks(bin: string): boolean {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, ['version', '--template', '{{.Version}}'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && r.stdout.trim() === HELM_VERSION;
}

/**
 * Returns a working helm {@link HELM_VERSION}: `DLR_HELM` if set, else the cached build, else builds it with
 * `go install` (minutes the first time). Throws with the reason and the end of the build log if it cannot.
 */
export async function ensureHelm(env: NodeJS.ProcessEnv = process.env): Promise<HelmBinary> {
  const override = env['DLR_HELM'];
  if (override) {
    if (!helmWorks(override)) throw new Error(`DLR_HELM=${override} does not run or is not helm ${HELM_VERSION}`);
    return { path: override };
  }
  const cache = infraCacheDir(env);
  const dir = path.join(cache, `helm-${HELM_VERSION}`);
  const bin = path.join(dir, 'helm');
  if (helmWorks(bin)) {
    log(`${HELM_VERSION}: cached at ${bin}`);
    return { path: bin };
  }
  const go = env['DLR_INFRA_GO'] || 'go';
  const goVersion = spawnSync(go, ['version'], { encoding: 'utf8', timeout: 30_000, env });
  if (goVersion.error || goVersion.status !== 0) {
    throw new Error(
      `cannot build helm ${HELM_VERSION}: \`${go} version\` failed (${goVersion.error?.message ?? goVersion.stderr.trim()}). ` +
        'Install Go (https://go.dev/dl), or set DLR_HELM to a helm binary of that version.',
    );
  }

  await fsp.mkdir(dir, { recursive: true });
  const release = await acquireLock(path.join(cache, `helm-${HELM_VERSION}.lock`));
  try {
    if (helmWorks(bin)) {
      log(`${HELM_VERSION}: built meanwhile by another process, at ${bin}`);
      return { path: bin };
    }
    const logFile = path.join(cache, 'logs', `helm-${HELM_VERSION}.install.log`);
    await fsp.mkdir(path.dirname(logFile), { recursive: true });
    // Build into a staging dir, then rename: the final path only ever holds a whole binary.
    const staging = path.join(dir, `.staging-${process.pid}`);
    await fsp.rm(staging, { recursive: true, force: true });
    await fsp.mkdir(staging, { recursive: true });
    const args = ['install', '-trimpath', '-ldflags', LDFLAGS, `${HELM_MODULE}/cmd/helm@${HELM_VERSION}`];
    log(
      `${HELM_VERSION}: building with ${goVersion.stdout.trim()} into ${dir} (log ${logFile}); minutes the first time`,
    );
    const t0 = Date.now();
    const r = await runToLog(go, args, logFile, {
      ...env,
      GOBIN: staging,
      GOWORK: 'off',
      GOFLAGS: `${env['GOFLAGS'] ?? ''} -buildvcs=false`.trim(),
    });
    const built = path.join(staging, 'helm');
    if (r.status !== 0 || !helmWorks(built)) {
      await fsp.rm(staging, { recursive: true, force: true });
      const why = r.status !== 0 ? r.status : 'the built binary does not report that version';
      throw new Error(`go install of helm ${HELM_VERSION} failed (${why}); log ${logFile}; last lines:\n${r.tail}`);
    }
    await fsp.rename(built, bin);
    await fsp.rm(staging, { recursive: true, force: true });
    const builtInMs = Date.now() - t0;
    log(`${HELM_VERSION}: built in ${(builtInMs / 1000).toFixed(1)} s`);
    return { path: bin, builtInMs };
  } finally {
    await release();
  }
}

/** Runs a command with its output appended to a log file; resolves with the exit status and the log's last lines. */
async function runToLog(
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | string; tail: string }> {
  await fsp.writeFile(logFile, `$ ${cmd} ${args.join(' ')}\n`);
  const out = await fsp.open(logFile, 'a');
  try {
    const status = await new Promise<number | string>((resolve) => {
      const child = spawn(cmd, args, { env, stdio: ['ignore', out.fd, out.fd] });
      child.once('error', (e) => resolve(e.message));
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : (code ?? -1)));
    });
    const text = await fsp.readFile(logFile, 'utf8');
    return {
      status: typeof status === 'number' && status !== 0 ? `exit ${status}` : status,
      tail: text.trimEnd().split('\n').slice(-15).join('\n'),
    };
  } finally {
    await out.close();
  }
}

/**
 * A mkdir lock (mkdir is atomic), so parallel test runs build helm once. A lock whose owner died on this host,
 * or that was not touched for 2 minutes, is taken over.
 */
async function acquireLock(lockDir: string): Promise<() => Promise<void>> {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      await fsp.mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(lockDir)) {
      const aside = `${lockDir}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
      await fsp.rename(lockDir, aside).then(
        () => fsp.rm(aside, { recursive: true, force: true }),
        () => undefined, // someone else took it over first
      );
      continue;
    }
    if (!told) {
      log(`another process is building helm (lock ${lockDir}); waiting…`);
      told = true;
    }
    if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`timed out waiting for lock ${lockDir}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  await fsp.writeFile(path.join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: os.hostname() }));
  const beat = setInterval(() => {
    const now = new Date();
    fsp.utimes(lockDir, now, now).catch(() => undefined);
  }, 20_000);
  beat.unref();
  return async () => {
    clearInterval(beat);
    await fsp.rm(lockDir, { recursive: true, force: true });
  };
}

async function lockIsStale(lockDir: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await fsp.readFile(path.join(lockDir, 'owner.json'), 'utf8')) as {
      pid?: number;
      host?: string;
    };
    // On this host the owner's pid decides; its age does not (a build can take minutes).
    if (owner.host === os.hostname() && typeof owner.pid === 'number') return !pidAlive(owner.pid);
  } catch {
    // no owner.json yet: judge by age
  }
  try {
    return Date.now() - (await fsp.stat(lockDir)).mtimeMs > LOCK_STALE_MS;
  } catch {
    return true;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Result of one helm command. */
export interface HelmRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs helm with arguments; never throws for a non-zero exit (the tests look at it). `home` keeps helm's
 * config, cache and data out of the user's home (these tests read no chart repositories).
 */
export function runHelm(helm: string, args: string[], home: string): HelmRun {
  const r = spawnSync(helm, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
    env: {
      ...process.env,
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_DATA_HOME: path.join(home, 'data'),
    },
  });
  if (r.error) throw new Error(`helm ${args[0] ?? ''}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
