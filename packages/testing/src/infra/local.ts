// Path 3: nats-server and FerretDB v1 (SQLite) from the binaries the harness builds, as child processes on free
// ports, with data in a temp dir; waits until each answers.
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBinary, FERRETDB_SPEC, infraCacheDir, NATS_SPEC, type BinarySpec } from './binaries.js';
import { allOrFirstError, describeNeed, errorMessage, sleep, type Need } from './common.js';
import { freePort, mongoPing, natsInfo, tcpConnect } from './probes.js';
import { forgetTempDir, logTail, removeTempDirOnExit, startChild, type Child } from './processes.js';
import type { InfraServer } from './types.js';
import { FERRETDB_VERSION, NATS_SERVER_VERSION } from './versions.js';

const NATS_READY_MS = 10_000;
const MONGO_READY_MS = 30_000;
// A restart happens mid-test, with the test process itself busy posting: give it longer.
const RESTART_READY_MS = 60_000;

/** Control of one server started by {@link startLocal}, for fault tests. */
export interface LocalServerControl {
  /** The current process's pid (a new one after {@link restart}). */
  pid(): number | undefined;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory (after kill) and waits until it answers. */
  restart(): Promise<void>;
}

export async function startLocal(
  need: Need,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  dataDir: string | undefined,
): Promise<{
  servers: { nats?: InfraServer; mongo?: InfraServer };
  controls: { nats?: LocalServerControl; mongo?: LocalServerControl };
  stop: () => Promise<void>;
}> {
  log(`local binaries: providing ${describeNeed(need)}`);
  const cache = infraCacheDir(env);
  const specs = [need.nats && NATS_SPEC, need.mongo && FERRETDB_SPEC].filter((s): s is BinarySpec => !!s);
  const bins: Partial<Record<BinarySpec['name'], string>> = {};
  // Sequential: two Go builds at once would only fight over the same cores.
  for (const spec of specs) bins[spec.name] = await ensureBinary(spec, cache, env, log);

  const ownDir = !dataDir;
  const dir = dataDir ? path.resolve(dataDir) : await fsp.mkdtemp(path.join(os.tmpdir(), 'dlr-infra-'));
  await fsp.mkdir(dir, { recursive: true });
  const children: Child[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop()));
    if (ownDir) {
      forgetTempDir(dir);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  };
  if (ownDir) removeTempDirOnExit(dir);
  try {
    const servers: { nats?: InfraServer; mongo?: InfraServer } = {};
    const controls: { nats?: LocalServerControl; mongo?: LocalServerControl } = {};
    await allOrFirstError([
      bins['nats-server'] &&
        (async () => {
          const spawnNats = (port: number) => {
            const child = startChild(
              'nats-server',
              bins['nats-server']!,
              ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'nats')],
              path.join(dir, 'nats-server.log'),
            );
            children.push(child);
            return child;
          };
          const { child, port } = await startWithFreePort(spawnNats, (port, child) => waitNatsReady(port, child));
          controls.nats = control(
            child,
            () => spawnNats(port),
            (c) => waitNatsReady(port, c, RESTART_READY_MS),
          );
          servers.nats = {
            url: `nats://127.0.0.1:${port}`,
            source: 'local-binaries',
            label: `NATS (nats-server ${NATS_SERVER_VERSION}, JetStream)`,
            ...(child.pid === undefined ? {} : { pid: child.pid }),
          };
          log(`nats-server started: ${servers.nats.url} (pid ${child.pid}, log ${child.logFile})`);
        })(),
      bins['ferretdb'] &&
        (async () => {
          const sqliteDir = path.join(dir, 'ferretdb');
          const stateDir = path.join(dir, 'ferretdb-state');
          await fsp.mkdir(sqliteDir, { recursive: true });
          await fsp.mkdir(stateDir, { recursive: true });
          const spawnFerret = (port: number) => {
            const child = startChild(
              'ferretdb',
              bins['ferretdb']!,
              [
                '--handler=sqlite',
                `--sqlite-url=file:${sqliteDir}/`,
                `--listen-addr=127.0.0.1:${port}`,
                `--state-dir=${stateDir}`,
                '--telemetry=disable',
                '--debug-addr=-',
                '--log-level=warn',
              ],
              path.join(dir, 'ferretdb.log'),
            );
            children.push(child);
            return child;
          };
          const { child, port } = await startWithFreePort(spawnFerret, (port, child) => waitMongoReady(port, child));
          controls.mongo = control(
            child,
            () => spawnFerret(port),
            (c) => waitMongoReady(port, c, RESTART_READY_MS),
          );
          servers.mongo = {
            url: `mongodb://127.0.0.1:${port}/`,
            source: 'local-binaries',
            label: `MongoDB-compatible (FerretDB ${FERRETDB_VERSION} SQLite, _id index patch)`,
            ...(child.pid === undefined ? {} : { pid: child.pid }),
          };
          log(`ferretdb started: ${servers.mongo.url} (pid ${child.pid}, log ${child.logFile})`);
        })(),
    ]);
    return { servers, controls, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Kill and restart (same port, same data) of a server whose first process is `first`. */
function control(first: Child, respawn: () => Child, ready: (child: Child) => Promise<void>): LocalServerControl {
  let current = first;
  return {
    pid: () => current.pid,
    kill: () => current.kill('SIGKILL'),
    restart: async () => {
      if (!current.exited) throw new Error(`${current.name} is still running: kill it first`);
      current = respawn();
      await ready(current);
    },
  };
}

/** Starts on a port the OS picked; retries with another port if the server lost the race for it. */
async function startWithFreePort(
  start: (port: number) => Child,
  ready: (port: number, child: Child) => Promise<void>,
): Promise<{ child: Child; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = start(port);
    try {
      await ready(port, child);
      return { child, port };
    } catch (err) {
      await child.stop();
      const tail = await logTail(child.logFile);
      if (attempt < 3 && /address already in use/i.test(tail)) continue;
      const keep = await keepLog(child.logFile);
      throw new Error(
        `${child.name} did not become ready on 127.0.0.1:${port}: ${errorMessage(err)}; log ${keep}` +
          (tail ? `; last lines:\n${tail}` : ''),
      );
    }
  }
}

/** A failed server's log would vanish with its temp dir: keep a copy in the OS temp dir. */
async function keepLog(logFile: string): Promise<string> {
  const dest = path.join(os.tmpdir(), `dlr-infra-failed-${path.basename(logFile, '.log')}-${process.pid}.log`);
  try {
    await fsp.copyFile(logFile, dest);
    return dest;
  } catch {
    return logFile;
  }
}

async function waitNatsReady(port: number, child: Child, readyMs = NATS_READY_MS): Promise<void> {
  const deadline = Date.now() + readyMs;
  let last = 'not tried';
  while (Date.now() < deadline) {
    if (child.exited) throw new Error(`exited early (${child.exitDescription()})`);
    try {
      const info = await natsInfo(port, Math.min(1_000, deadline - Date.now()));
      if (info['jetstream'] === true) return;
      last = 'INFO says JetStream is off';
    } catch (err) {
      last = errorMessage(err);
    }
    await sleep(100);
  }
  throw new Error(`not ready within ${readyMs} ms (last: ${last})`);
}

async function waitMongoReady(port: number, child: Child, readyMs = MONGO_READY_MS): Promise<void> {
  const deadline = Date.now() + readyMs;
  let last = 'not tried';
  while (Date.now() < deadline) {
    if (child.exited) throw new Error(`exited early (${child.exitDescription()})`);
    try {
      await tcpConnect({ host: '127.0.0.1', port }, 1_000);
      await mongoPing(`mongodb://127.0.0.1:${port}/`, 2_000);
      return;
    } catch (err) {
      last = errorMessage(err);
    }
    await sleep(150);
  }
  throw new Error(`not ready within ${readyMs} ms (last: ${last})`);
}
