// The one local-infrastructure module used by tests, the demo and CI: a NATS server with JetStream and a
// MongoDB-compatible server, real processes, never a mock. Order of preference:
//   1. NATS_URL / MONGODB_URI from the environment (checked to answer),
//   2. testcontainers, only if a container engine answers a quick probe,
//   3. local binaries (nats-server, FerretDB v1 on SQLite) that this module builds with `go` into a per-user cache.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Testcontainers from 'testcontainers';

/** Which way the servers were provided. With only one of NATS_URL/MONGODB_URI set, the path of the other server. */
export type InfraPath = 'env' | 'testcontainers' | 'local-binaries';

/** One server as provided. */
export interface InfraServer {
  url: string;
  source: InfraPath;
  /** Human-readable kind, e.g. `NATS (nats-server v2.15.2, JetStream)` or `MongoDB-compatible (FerretDB v1.24.2 SQLite)`. */
  label: string;
}

export interface Infra {
  natsUrl: string;
  mongoUri: string;
  path: InfraPath;
  servers: { nats: InfraServer; mongo: InfraServer };
  /** One line for logs: which path was used and the URLs. */
  summary: string;
  /** Stops what ensureInfra started (never servers it was given through the environment). Idempotent. */
  stop(): Promise<void>;
}

export interface EnsureInfraOptions {
  /** Progress lines. Default: stderr, prefixed `[infra] `. */
  log?: (line: string) => void;
  /** Where local servers keep data and logs. Default: a fresh temp dir, removed by stop(). A given dir is kept. */
  dataDir?: string;
  /** Environment to read instead of process.env (NATS_URL, MONGODB_URI, DLR_CACHE_DIR, DLR_INFRA_*, PATH, HOME…). */
  env?: NodeJS.ProcessEnv;
}

/** Thrown when no way to get the servers worked; the message says what was tried and what to do. */
export class InfraUnavailableError extends Error {
  override readonly name = 'InfraUnavailableError';
}

export const NATS_SERVER_VERSION = 'v2.15.2';
export const FERRETDB_VERSION = 'v1.24.2';
/** Image tags for the container path; overridable with DLR_INFRA_NATS_IMAGE / DLR_INFRA_MONGO_IMAGE. */
export const NATS_IMAGE = `nats:${NATS_SERVER_VERSION.slice(1)}`;
export const MONGO_IMAGE = 'mongo:7';

const ENV_CHECK_MS = 3_000;
const DOCKER_PROBE_MS = 5_000;
const NATS_READY_MS = 10_000;
const MONGO_READY_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const LOCK_STALE_MS = 2 * 60_000;
const LOCK_WAIT_MS = 30 * 60_000;

const defaultLog = (line: string): void => {
  process.stderr.write(`[infra] ${line}\n`);
};

export async function ensureInfra(opts: EnsureInfraOptions = {}): Promise<Infra> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  const tried: string[] = [];

  // 1. The environment.
  const envNats = env['NATS_URL']?.trim() || undefined;
  const envMongo = env['MONGODB_URI']?.trim() || undefined;
  const given: Partial<Record<'nats' | 'mongo', InfraServer>> = {};
  if (envNats) {
    await checkAnswers('NATS_URL', envNats, natsHostPort(envNats), log);
    given.nats = { url: envNats, source: 'env', label: 'NATS' };
  }
  if (envMongo) {
    await checkAnswers('MONGODB_URI', envMongo, mongoHostPort(envMongo), log);
    given.mongo = { url: envMongo, source: 'env', label: 'MongoDB' };
  }
  if (given.nats && given.mongo) {
    return makeInfra('env', given.nats, given.mongo, async () => {}, log);
  }
  const need = { nats: !given.nats, mongo: !given.mongo };
  const envNote = given.nats
    ? 'only NATS_URL set, used for NATS'
    : given.mongo
      ? 'only MONGODB_URI set, used for MongoDB'
      : 'unset';
  tried.push(`NATS_URL/MONGODB_URI (${envNote})`);
  log(`NATS_URL/MONGODB_URI: ${envNote}; providing ${describeNeed(need)}`);

  // 2. testcontainers.
  const docker = await tryTestcontainers(need, env, log);
  if ('servers' in docker) {
    const nats = given.nats ?? docker.servers.nats;
    const mongo = given.mongo ?? docker.servers.mongo;
    if (nats && mongo) return makeInfra('testcontainers', nats, mongo, docker.stop, log);
    await docker.stop();
  } else {
    tried.push(`Docker (${docker.reason})`);
  }

  // 3. Local binaries.
  try {
    const local = await startLocal(need, env, log, opts.dataDir);
    const nats = given.nats ?? local.servers.nats;
    const mongo = given.mongo ?? local.servers.mongo;
    if (nats && mongo) return makeInfra('local-binaries', nats, mongo, local.stop, log);
    await local.stop();
    throw new Error('internal: local path did not provide the needed servers');
  } catch (err) {
    const reason = errorMessage(err);
    log(`local binaries failed: ${reason}`);
    tried.push(`local binaries (${reason})`);
  }

  throw new InfraUnavailableError(
    `No NATS/MongoDB available for tests. Tried: ${tried.join('; ')}. ` +
      'Fix one of: set NATS_URL and MONGODB_URI to running servers; start a Docker engine; ' +
      'install Go (https://go.dev/dl) so `go install` can build nats-server and FerretDB.',
  );
}

/** Per-test isolation: `prefix_<12 hex>`, safe as a MongoDB database, collection or NATS stream/consumer name. */
export function uniqueName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `${clean}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/**
 * The URLs that a vitest globalSetup (or scripts/with-infra.mjs) put in the environment.
 * Throws a clear error when they are missing.
 */
export function infraEnv(env: NodeJS.ProcessEnv = process.env): { natsUrl: string; mongoUri: string } {
  const natsUrl = env['NATS_URL'];
  const mongoUri = env['MONGODB_URI'];
  if (!natsUrl || !mongoUri) {
    throw new Error(
      "NATS_URL/MONGODB_URI are not set. Add `globalSetup: ['@dlr/testing/global-setup']` to this " +
        "package's vitest config, or run through `node scripts/with-infra.mjs <cmd>`.",
    );
  }
  return { natsUrl, mongoUri };
}

// ---------------------------------------------------------------------------------------------------------------------
// Shared helpers

function makeInfra(
  p: InfraPath,
  nats: InfraServer,
  mongo: InfraServer,
  stopImpl: () => Promise<void>,
  log: (line: string) => void,
): Infra {
  let stopping: Promise<void> | undefined;
  const infra: Infra = {
    natsUrl: nats.url,
    mongoUri: mongo.url,
    path: p,
    servers: { nats, mongo },
    summary: `using ${p}: ${nats.label} ${nats.url}${nats.source !== p ? ` (${nats.source})` : ''}, ${mongo.label} ${mongo.url}${mongo.source !== p ? ` (${mongo.source})` : ''}`,
    stop: () => (stopping ??= stopImpl()),
  };
  log(infra.summary);
  return infra;
}

function describeNeed(need: { nats: boolean; mongo: boolean }): string {
  return [need.nats && 'NATS', need.mongo && 'MongoDB'].filter(Boolean).join(' and ');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Like Promise.all, but waits for every task to settle before rethrowing the first failure, so cleanup sees all. */
async function allOrFirstError(tasks: (Promise<void> | false | undefined | '')[]): Promise<void> {
  const results = await Promise.allSettled(tasks.filter((t): t is Promise<void> => t instanceof Promise));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface HostPort {
  host: string;
  port: number;
}

/** First server of a NATS URL list: `nats://h:p`, `h:p`, `tls://…`, comma separated; default port 4222. */
export function natsHostPort(url: string): HostPort {
  const first = url.split(',')[0]!.trim();
  const u = new URL(/^[a-z]+:\/\//i.test(first) ? first : `nats://${first}`);
  return { host: stripBrackets(u.hostname) || '127.0.0.1', port: u.port ? Number(u.port) : 4222 };
}

/** First host of a `mongodb://` URI; default port 27017. `mongodb+srv://` has no fixed host:port (undefined). */
export function mongoHostPort(uri: string): HostPort | undefined {
  const m = /^mongodb:\/\/(?:[^@/]*@)?([^/?]+)/i.exec(uri.trim());
  if (!m) return undefined;
  const first = m[1]!.split(',')[0]!;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(first);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : 27017 };
  const [host, port] = first.split(':');
  return { host: host || '127.0.0.1', port: port ? Number(port) : 27017 };
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function tcpConnect(hp: HostPort, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: hp.host, port: hp.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(e.code ?? e.message));
    });
  });
}

async function checkAnswers(
  name: string,
  url: string,
  hp: HostPort | undefined,
  log: (line: string) => void,
): Promise<void> {
  if (!hp) {
    // mongodb+srv: only the driver can resolve it.
    try {
      await mongoPing(url, ENV_CHECK_MS);
    } catch (err) {
      throw new InfraUnavailableError(
        `${name}=${url} is set but does not answer (ping failed: ${errorMessage(err)}). ` +
          `Start that server, or unset ${name} to let ensureInfra provide one.`,
      );
    }
    log(`${name} answers (ping): ${url}`);
    return;
  }
  try {
    await tcpConnect(hp, ENV_CHECK_MS);
  } catch (err) {
    throw new InfraUnavailableError(
      `${name}=${url} is set but does not answer (TCP connect to ${hp.host}:${hp.port} failed: ${errorMessage(err)}). ` +
        `Start that server, or unset ${name} to let ensureInfra provide one.`,
    );
  }
  log(`${name} answers at ${hp.host}:${hp.port}`);
}

async function mongoPing(uri: string, timeoutMs: number): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 2. testcontainers

type Provided =
  { servers: { nats?: InfraServer; mongo?: InfraServer }; stop: () => Promise<void> } | { reason: string };

async function tryTestcontainers(
  need: { nats: boolean; mongo: boolean },
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Provided> {
  const setting = (env['DLR_INFRA_DOCKER'] ?? '').toLowerCase();
  if (['0', 'off', 'false', 'no'].includes(setting)) {
    log(`Docker: skipped (DLR_INFRA_DOCKER=${env['DLR_INFRA_DOCKER']})`);
    return { reason: `skipped: DLR_INFRA_DOCKER=${env['DLR_INFRA_DOCKER']}` };
  }
  const probeMs = Number(env['DLR_INFRA_DOCKER_PROBE_MS']) || DOCKER_PROBE_MS;
  log(`Docker: probing for a container engine (up to ${probeMs} ms)…`);
  const t0 = Date.now();
  let tc: typeof Testcontainers;
  try {
    tc = await import('testcontainers');
    await withTimeout(tc.getContainerRuntimeClient(), probeMs, 'container engine probe');
  } catch (err) {
    const where = env['DOCKER_HOST']
      ? `at DOCKER_HOST=${env['DOCKER_HOST']}`
      : 'at /var/run/docker.sock or the other default sockets; DOCKER_HOST unset';
    const reason = `no engine answered ${where}: ${errorMessage(err)}`;
    log(`Docker: skipped, ${reason} (${seconds(t0)})`);
    return { reason };
  }
  log(`Docker: engine answered (${seconds(t0)}); starting containers for ${describeNeed(need)}`);

  const started: { stop(): Promise<unknown> }[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(started.map((c) => c.stop()));
  };
  try {
    const servers: { nats?: InfraServer; mongo?: InfraServer } = {};
    const natsImage = env['DLR_INFRA_NATS_IMAGE'] || NATS_IMAGE;
    const mongoImage = env['DLR_INFRA_MONGO_IMAGE'] || MONGO_IMAGE;
    await allOrFirstError([
      need.nats &&
        (async () => {
          // A plain container, not @testcontainers/nats' NatsContainer: that one always adds --user/--pass, and a
          // NATS URL cannot carry credentials for nats.js, so NATS_URL could not describe it.
          const c = await new tc.GenericContainer(natsImage)
            .withCommand(['-js'])
            .withExposedPorts(4222)
            .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
            .withStartupTimeout(120_000)
            .start();
          started.push(c);
          servers.nats = {
            url: `nats://${c.getHost()}:${c.getMappedPort(4222)}`,
            source: 'testcontainers',
            label: `NATS (${natsImage}, JetStream)`,
          };
        })(),
      need.mongo &&
        (async () => {
          const { MongoDBContainer } = await import('@testcontainers/mongodb');
          const c = await new MongoDBContainer(mongoImage).start();
          started.push(c);
          // Single-node replica set inside the container: connect directly, not via the advertised member host.
          servers.mongo = {
            url: `${c.getConnectionString()}/?directConnection=true`,
            source: 'testcontainers',
            label: `MongoDB (${mongoImage})`,
          };
        })(),
    ]);
    return { servers, stop };
  } catch (err) {
    await stop();
    const reason = `engine answered but containers failed: ${errorMessage(err)}`;
    log(`Docker: ${reason}`);
    return { reason };
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 3. Local binaries

interface BinarySpec {
  name: 'nats-server' | 'ferretdb';
  version: string;
  /** What `<binary> --version` must print. */
  versionLine: string;
  /** Names a build of that version changed by us (its own cache dir, so an unchanged build is never reused). */
  variant?: string;
  /** Toolchain to retry with when the build with the local go fails (the one the module's go.mod pins). */
  retryToolchain: string;
  build(go: string, outDir: string, goEnv: NodeJS.ProcessEnv, logFile: string): Promise<void>;
}

const NATS_SPEC: BinarySpec = {
  name: 'nats-server',
  version: NATS_SERVER_VERSION,
  versionLine: `nats-server: ${NATS_SERVER_VERSION}`,
  retryToolchain: 'go1.26.10',
  async build(go, outDir, goEnv, logFile) {
    await run(go, ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
      env: { ...goEnv, GOBIN: outDir },
      logFile,
    });
  },
};

const FERRETDB_SPEC: BinarySpec = {
  name: 'ferretdb',
  version: FERRETDB_VERSION,
  versionLine: `version: ${FERRETDB_VERSION}`,
  variant: 'id-index',
  retryToolchain: 'go1.24.3',
  async build(go, outDir, goEnv, logFile) {
    // `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds, but the binary panics at start:
    // build/version/version.txt is generated by FerretDB's release tooling and is absent from the module zip.
    // So: take the same module from the Go module proxy, add version.txt, and `go build` it.
    const mod = `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`;
    const out = await run(go, ['mod', 'download', '-json', mod], { env: goEnv, logFile, captureStdout: true });
    const dir = (JSON.parse(out) as { Dir?: string }).Dir;
    if (!dir) throw new Error(`go mod download ${mod} gave no Dir`);
    const src = path.join(path.dirname(outDir), `src-${process.pid}`);
    await fsp.rm(src, { recursive: true, force: true });
    try {
      await copyTreeWritable(dir, src);
      await fsp.writeFile(path.join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
      await patchFerretIdLookups(src);
      await run(go, ['build', '-trimpath', '-o', path.join(outDir, 'ferretdb'), './cmd/ferretdb'], {
        env: goEnv,
        cwd: src,
        logFile,
      });
    } finally {
      await fsp.rm(src, { recursive: true, force: true });
    }
  },
};

/**
 * FerretDB v1's SQLite backend scans the whole table for every `_id` lookup, which makes a collection of
 * a few thousand documents cost tens of milliseconds per read or update (docs/decisions.md,
 * "FerretDB v1 (SQLite) as the local store"). Two causes, both fixed here in the source we build:
 * - its `_id` expression (`->'$._id'`) is not the one its unique `_id` index is built on (`->"_id"`),
 *   so SQLite never uses the index;
 * - it pushes `_id` down only when `_id` is the filter's only key, so `{_id, state}` loads every row.
 * The handler still applies the whole filter to what the backend returns, so results do not change.
 * Each text to replace must occur exactly as often as expected: a different source fails the build
 * instead of running unpatched.
 */
async function patchFerretIdLookups(src: string): Promise<void> {
  const edit = async (file: string, from: string, to: string, times: number) => {
    const at = path.join(src, file);
    const text = await fsp.readFile(at, 'utf8');
    const found = text.split(from).length - 1;
    if (found !== times) throw new Error(`FerretDB patch: expected ${times}× \`${from}\` in ${file}, found ${found}`);
    await fsp.writeFile(at, text.replaceAll(from, to));
  };
  await edit(
    'internal/backends/sqlite/metadata/metadata.go',
    `IDColumn = DefaultColumn + "->'$._id'"`,
    `IDColumn = DefaultColumn + "->\\"_id\\""`,
    1,
  );
  await edit(
    'internal/backends/sqlite/collection.go',
    'if params.Filter.Len() == 1 {',
    'if hasOneID(params.Filter) {',
    2,
  );
  const collection = path.join(src, 'internal/backends/sqlite/collection.go');
  await fsp.appendFile(
    collection,
    [
      '',
      '// hasOneID reports whether the filter has exactly one top-level _id key (added by Delivery Reporting).',
      'func hasOneID(filter *types.Document) bool {',
      '\tn := 0',
      '\tfor _, k := range filter.Keys() {',
      '\t\tif k == "_id" {',
      '\t\t\tn++',
      '\t\t}',
      '\t}',
      '',
      '\treturn n == 1',
      '}',
      '',
    ].join('\n'),
  );
}

export function infraCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['DLR_CACHE_DIR']) return path.resolve(env['DLR_CACHE_DIR']);
  const base = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
  return path.join(base, 'delivery-reporting');
}

async function startLocal(
  need: { nats: boolean; mongo: boolean },
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  dataDir: string | undefined,
): Promise<{ servers: { nats?: InfraServer; mongo?: InfraServer }; stop: () => Promise<void> }> {
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
      tempDirs.delete(dir);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  };
  if (ownDir) tempDirs.add(dir);
  try {
    const servers: { nats?: InfraServer; mongo?: InfraServer } = {};
    await allOrFirstError([
      bins['nats-server'] &&
        (async () => {
          const { child, port } = await startWithFreePort(
            (port) => {
              const child = startChild(
                'nats-server',
                bins['nats-server']!,
                ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'nats')],
                path.join(dir, 'nats-server.log'),
              );
              children.push(child);
              return child;
            },
            (port, child) => waitNatsReady(port, child),
          );
          servers.nats = {
            url: `nats://127.0.0.1:${port}`,
            source: 'local-binaries',
            label: `NATS (nats-server ${NATS_SERVER_VERSION}, JetStream)`,
          };
          log(`nats-server started: ${servers.nats.url} (pid ${child.pid}, log ${child.logFile})`);
        })(),
      bins['ferretdb'] &&
        (async () => {
          const sqliteDir = path.join(dir, 'ferretdb');
          const stateDir = path.join(dir, 'ferretdb-state');
          await fsp.mkdir(sqliteDir, { recursive: true });
          await fsp.mkdir(stateDir, { recursive: true });
          const { child, port } = await startWithFreePort(
            (port) => {
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
            },
            (port, child) => waitMongoReady(port, child),
          );
          servers.mongo = {
            url: `mongodb://127.0.0.1:${port}/`,
            source: 'local-binaries',
            label: `MongoDB-compatible (FerretDB ${FERRETDB_VERSION} SQLite, _id index patch)`,
          };
          log(`ferretdb started: ${servers.mongo.url} (pid ${child.pid}, log ${child.logFile})`);
        })(),
    ]);
    return { servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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

/** Asks the OS for a free port on 127.0.0.1: listen on port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

async function waitNatsReady(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + NATS_READY_MS;
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
  throw new Error(`not ready within ${NATS_READY_MS} ms (last: ${last})`);
}

/** Connects and reads the server's INFO line (the first thing a NATS server sends). */
function natsInfo(port: number, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err: Error | undefined, info?: Record<string, unknown>): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(info ?? {});
    };
    const timer = setTimeout(() => done(new Error('no INFO in time')), Math.max(timeoutMs, 50));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      if (!line.startsWith('INFO ')) return done(new Error(`unexpected greeting ${line.slice(0, 40)}`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as Record<string, unknown>);
      } catch {
        done(new Error('unparsable INFO'));
      }
    });
    sock.once('error', (e: NodeJS.ErrnoException) => done(new Error(e.code ?? e.message)));
  });
}

async function waitMongoReady(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + MONGO_READY_MS;
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
  throw new Error(`not ready within ${MONGO_READY_MS} ms (last: ${last})`);
}

// --- children and their cleanup --------------------------------------------------------------------------------------

interface Child {
  name: string;
  pid: number | undefined;
  logFile: string;
  exited: boolean;
  exitDescription(): string;
  stop(): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let handlersInstalled = false;

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

function startChild(name: string, bin: string, args: string[], logFile: string): Child {
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
function openLog(file: string): number {
  return openSync(file, 'a');
}
function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // ignore
  }
}

async function logTail(file: string, lines = 20): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// --- installing binaries ---------------------------------------------------------------------------------------------

function binaryWorks(bin: string, versionLine: string): boolean {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && `${r.stdout}${r.stderr}`.split('\n').some((l) => l.trim() === versionLine);
}

async function ensureBinary(
  spec: BinarySpec,
  cache: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<string> {
  const dir = path.join(cache, `${spec.name}-${spec.version}${spec.variant ? `-${spec.variant}` : ''}`);
  const bin = path.join(dir, spec.name);
  if (binaryWorks(bin, spec.versionLine)) {
    log(`${spec.name} ${spec.version}: cached at ${bin}`);
    return bin;
  }
  const go = findGo(env);
  if (!go.ok) throw new Error(go.reason);

  await fsp.mkdir(cache, { recursive: true });
  const release = await acquireLock(path.join(cache, `${spec.name}-${spec.version}.lock`), spec.name, log);
  try {
    if (binaryWorks(bin, spec.versionLine)) {
      log(`${spec.name} ${spec.version}: installed meanwhile by another process, at ${bin}`);
      return bin;
    }
    const logFile = path.join(cache, 'logs', `${spec.name}-${spec.version}.install.log`);
    await fsp.mkdir(path.dirname(logFile), { recursive: true });
    await fsp.writeFile(logFile, '');
    // Build into a staging dir next to the final one, then rename: the final path only ever holds a whole binary.
    const staging = path.join(dir, `.staging-${process.pid}`);
    const goEnv: NodeJS.ProcessEnv = {
      ...env,
      GOWORK: 'off',
      GOFLAGS: `${env['GOFLAGS'] ?? ''} -buildvcs=false`.trim(),
    };
    const attempts: { label: string; env: NodeJS.ProcessEnv }[] = [
      { label: `${go.version}`, env: goEnv },
      { label: `GOTOOLCHAIN=${spec.retryToolchain}`, env: { ...goEnv, GOTOOLCHAIN: spec.retryToolchain } },
    ];
    const failures: string[] = [];
    for (const attempt of attempts) {
      const t0 = Date.now();
      log(
        `${spec.name} ${spec.version}: install started with ${attempt.label} into ${dir} (log ${logFile}); this can take minutes the first time`,
      );
      await fsp.rm(staging, { recursive: true, force: true });
      await fsp.mkdir(staging, { recursive: true });
      try {
        await spec.build(go.path, staging, attempt.env, logFile);
        const built = path.join(staging, spec.name);
        if (!binaryWorks(built, spec.versionLine)) {
          throw new Error(`built binary does not run \`${spec.name} --version\` or reports another version`);
        }
        await fsp.rename(built, bin);
        await fsp.rm(staging, { recursive: true, force: true });
        log(`${spec.name} ${spec.version}: install finished in ${seconds(t0)}`);
        return bin;
      } catch (err) {
        await fsp.rm(staging, { recursive: true, force: true });
        const msg = errorMessage(err);
        failures.push(`${attempt.label}: ${msg}`);
        log(`${spec.name} ${spec.version}: install with ${attempt.label} failed after ${seconds(t0)}: ${msg}`);
      }
    }
    const tail = await logTail(logFile, 15);
    throw new Error(
      `go install of ${spec.name} ${spec.version} failed (${failures.join(' | ')}); log ${logFile}` +
        (tail ? `; last lines:\n${tail}` : ''),
    );
  } finally {
    await release();
  }
}

function findGo(env: NodeJS.ProcessEnv): { ok: true; path: string; version: string } | { ok: false; reason: string } {
  const override = env['DLR_INFRA_GO'];
  const go = override || 'go';
  const r = spawnSync(go, ['version'], { encoding: 'utf8', timeout: 30_000, env });
  if (r.error || r.status !== 0) {
    const why = r.error
      ? ((r.error as NodeJS.ErrnoException).code ?? r.error.message)
      : `exit ${r.status}: ${r.stderr.trim()}`;
    return {
      ok: false,
      reason: override
        ? `go not found: DLR_INFRA_GO=${override} does not run (${why})`
        : `go not found on PATH (${why}); needed once to build nats-server ${NATS_SERVER_VERSION} and FerretDB ${FERRETDB_VERSION}`,
    };
  }
  return { ok: true, path: go, version: r.stdout.trim().replace(/^go version /, '') };
}

function run(
  cmd: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string; captureStdout?: boolean },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const fd = openLog(o.logFile);
    let cp: ChildProcess;
    try {
      const header = `\n$ ${[cmd, ...args].join(' ')}${o.cwd ? `   (in ${o.cwd})` : ''}${o.env['GOTOOLCHAIN'] ? `   GOTOOLCHAIN=${o.env['GOTOOLCHAIN']}` : ''}\n`;
      writeSyncSafe(fd, header);
      cp = spawn(cmd, args, { env: o.env, cwd: o.cwd, stdio: ['ignore', o.captureStdout ? 'pipe' : fd, fd] });
    } finally {
      closeFd(fd);
    }
    let out = '';
    cp.stdout?.setEncoding('utf8');
    cp.stdout?.on('data', (d: string) => (out += d));
    cp.once('error', (e) => reject(new Error(`${cmd} ${args[0] ?? ''}: ${e.message}`)));
    cp.once('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`\`${cmd} ${args.join(' ')}\` ${signal ? `killed by ${signal}` : `exited ${code}`}`));
    });
  });
}

function writeSyncSafe(fd: number, s: string): void {
  try {
    writeSync(fd, s);
  } catch {
    // ignore
  }
}

async function copyTreeWritable(from: string, to: string): Promise<void> {
  await fsp.mkdir(to, { recursive: true, mode: 0o755 });
  for (const e of await fsp.readdir(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) await copyTreeWritable(s, d);
    else if (e.isFile()) {
      await fsp.copyFile(s, d);
      await fsp.chmod(d, 0o644);
    }
  }
}

/**
 * A mkdir-based lock: mkdir is atomic. The owner writes owner.json and touches the dir every 20 s while it holds
 * the lock; a lock whose owner is dead (same host) or that was not touched for 2 minutes is stale and taken over.
 */
async function acquireLock(lockDir: string, what: string, log: (line: string) => void): Promise<() => Promise<void>> {
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
