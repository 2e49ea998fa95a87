// The one local-infrastructure entry used by tests, the demo and CI: a NATS server with JetStream and a
// MongoDB-compatible server, real processes, never a mock. Order of preference:
//   1. NATS_URL / MONGODB_URI from the environment (checked to answer),
//   2. testcontainers, only if a container engine answers a quick probe (containers.ts),
//   3. local binaries (nats-server, FerretDB v1 on SQLite) built with `go` into a per-user cache (local.ts).
import { describeNeed, errorMessage } from './common.js';
import { tryTestcontainers } from './containers.js';
import { startLocal } from './local.js';
import { mongoPing, tcpConnect, type HostPort } from './probes.js';
import {
  InfraUnavailableError,
  type EnsureInfraOptions,
  type Infra,
  type InfraPath,
  type InfraServer,
} from './types.js';

const ENV_CHECK_MS = 3_000;

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

// A URL from the environment may carry credentials (user:pass@, a token): name its variable instead.
// The servers this harness starts itself have none.
function shown(server: InfraServer): string {
  return server.source === 'env' ? `from ${server.label === 'NATS' ? 'NATS_URL' : 'MONGODB_URI'}` : server.url;
}

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
    summary: `using ${p}: ${nats.label} ${shown(nats)}${nats.source !== p ? ` (${nats.source})` : ''}, ${mongo.label} ${shown(mongo)}${mongo.source !== p ? ` (${mongo.source})` : ''}`,
    stop: () => (stopping ??= stopImpl()),
  };
  log(infra.summary);
  return infra;
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
        `${name} is set but does not answer (ping failed: ${errorMessage(err)}). ` +
          `Start that server, or unset ${name} to let ensureInfra provide one.`,
      );
    }
    log(`${name} answers (ping)`);
    return;
  }
  try {
    await tcpConnect(hp, ENV_CHECK_MS);
  } catch (err) {
    throw new InfraUnavailableError(
      `${name} is set but does not answer (TCP connect to ${hp.host}:${hp.port} failed: ${errorMessage(err)}). ` +
        `Start that server, or unset ${name} to let ensureInfra provide one.`,
    );
  }
  log(`${name} answers at ${hp.host}:${hp.port}`);
}
