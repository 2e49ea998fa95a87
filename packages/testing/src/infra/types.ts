// The shapes ensureInfra hands back, shared by every path that can provide the servers.

/** Which way the servers were provided. With only one of NATS_URL/MONGODB_URI set, the path of the other server. */
export type InfraPath = 'env' | 'testcontainers' | 'local-binaries';

/** One server as provided. */
export interface InfraServer {
  url: string;
  source: InfraPath;
  /** Human-readable kind, e.g. `NATS (nats-server v2.15.2, JetStream)` or `MongoDB-compatible (FerretDB v1.24.2 SQLite)`. */
  label: string;
  /** The server's process, when it was started here as a local binary. */
  pid?: number;
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
