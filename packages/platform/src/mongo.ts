// Types only: the driver itself is imported in connectMongo, after startTelemetry, so that the
// MongoDB instrumentation sees it load (errors are told apart by name and code, not by class).
import type {
  AnyBulkWriteOperation,
  Collection,
  Db,
  Document,
  Filter,
  IndexDescription,
  MongoBulkWriteError,
  MongoClient,
  WriteError,
} from 'mongodb';
import type { SuppressionEntry } from '@dlr/contracts';
import { UnavailableError } from './errors.js';
import type { Logger } from './logger.js';
import { retry } from './retry.js';

/** An open MongoDB connection and the service's own database. */
export interface MongoHandle {
  readonly client: MongoClient;
  readonly db: Db;
  /** What the server can do well, read once at connect (see {@link StoreProfile}). */
  readonly store: StoreProfile;
  /** Resolves when a `ping` succeeds; rejects otherwise (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to MongoDB (or a wire-compatible server such as FerretDB), retrying with backoff.
 * Throws an {@link UnavailableError} naming the host (never the credentials) when it cannot.
 */
export async function connectMongo(options: {
  uri: string;
  dbName: string;
  logger: Logger;
  appName: string;
  attempts?: number;
  /**
   * Deadline of every call on a connection that stops answering (a frozen or partitioned store),
   * after which it fails with a transient `MongoNetworkTimeoutError` (default 30 s: longer than any
   * legitimate call, such as a partition recount). The driver's own option, so it works the same on
   * MongoDB and FerretDB (a server-side `maxTimeMS` would not bound a stalled socket).
   */
  socketTimeoutMS?: number;
}): Promise<MongoHandle> {
  const host = safeHost(options.uri);
  const { MongoClient } = await import('mongodb');
  const client = await retry(
    async () => {
      const c = new MongoClient(options.uri, {
        appName: options.appName,
        serverSelectionTimeoutMS: 3_000,
        connectTimeoutMS: 3_000,
        socketTimeoutMS: options.socketTimeoutMS ?? 30_000,
      });
      try {
        await c.connect();
        await c.db('admin').command({ ping: 1 });
        return c;
      } catch (error) {
        await c.close().catch(() => undefined);
        throw error;
      }
    },
    {
      attempts: options.attempts ?? 10,
      onRetry: (error, attempt, delayMs) =>
        options.logger.warn({ host, attempt, delayMs, err: describe(error) }, 'MongoDB not reachable yet; retrying'),
    },
  ).catch((error: unknown) => {
    throw new UnavailableError(
      `Cannot connect to MongoDB at ${host}: ${describe(error)}. Check MONGODB_URI and that the server is running.`,
      error,
    );
  });
  const db = client.db(options.dbName);
  const store = await readStoreProfile(client).catch(() => storeProfile(undefined));
  options.logger.info({ host, db: options.dbName, store: store.name }, 'connected to MongoDB');
  return {
    client,
    db,
    store,
    ping: async () => {
      await db.command({ ping: 1 });
    },
    close: () => client.close(),
  };
}

/**
 * What the connected server does well. Hot paths read and write by `_id` everywhere; where a
 * server also plans other filters with indexes and takes large bulks in stride (MongoDB, FerretDB
 * v2 on DocumentDB), they use `$in` reads and large bulks. FerretDB v1 (SQLite or PostgreSQL)
 * pushes down only a bare `{_id: value}` filter — an `$in` over `_id` scans the whole collection —
 * and one large bulk holds its lock for minutes (docs/decisions.md), so there they stay small.
 */
export interface StoreProfile {
  /** E.g. `MongoDB 7.0.14`, `FerretDB v2.7.0`, `FerretDB v1.24.2`. */
  readonly name: string;
  /** True when `{_id: {$in: [...]}}` and other indexed filters are served by indexes. */
  readonly indexedQueries: boolean;
  /** Documents per bulk write or `$in` read that keeps the server responsive. */
  readonly bulkSize: number;
}

/** The profile of a server from its `buildInfo` (undefined: unknown, assume the weakest). */
export function storeProfile(buildInfo: Record<string, unknown> | undefined): StoreProfile {
  if (!buildInfo) return { name: 'unknown MongoDB-compatible server', indexedQueries: false, bulkSize: 10 };
  const version = typeof buildInfo['version'] === 'string' ? buildInfo['version'] : 'unknown';
  const v1 = buildInfo['ferretdbVersion'];
  // A stock v1 keeps every statement's rows of an update command open to its end: 100 updates in
  // one command exhaust its connection pool and deadlock the database. The harness's build closes
  // them (deliveryReportingPatch) and takes 100 at a time at twice the rate of 10.
  if (typeof v1 === 'string')
    return buildInfo['deliveryReportingPatch'] === 'update-rows'
      ? { name: `FerretDB ${v1} (update-rows patch)`, indexedQueries: false, bulkSize: 100 }
      : { name: `FerretDB ${v1}`, indexedQueries: false, bulkSize: 10 };
  const v2 = buildInfo['ferretdb'] as { version?: unknown } | undefined;
  if (v2 && typeof v2.version === 'string')
    return { name: `FerretDB ${v2.version}`, indexedQueries: true, bulkSize: 500 };
  return { name: `MongoDB ${version}`, indexedQueries: true, bulkSize: 500 };
}

async function readStoreProfile(client: MongoClient): Promise<StoreProfile> {
  return storeProfile(await client.db('admin').command({ buildInfo: 1 }));
}

/** IDs per `$in` read: one round trip per few hundred documents on every store. */
const IDS_PER_READ = 500;

/**
 * The documents with these `_id`s (absent ones left out), in `$in` reads of up to {@link IDS_PER_READ}
 * IDs. The harness's FerretDB v1 build serves those from the `_id` index (infra/ferretdb-patch.ts); an
 * unpatched v1 scans once per read, still fewer scans than one `{_id}` read per document.
 */
export async function findByIds<T extends Document & { _id: string }>(
  collection: Collection<T>,
  ids: readonly string[],
  options: { projection?: Document } = {},
): Promise<T[]> {
  const found: T[] = [];
  const projection = options.projection ? { projection: options.projection } : {};
  for (let from = 0; from < ids.length; from += IDS_PER_READ) {
    const filter = { _id: { $in: ids.slice(from, from + IDS_PER_READ) } } as Filter<T>;
    found.push(...((await collection.find(filter, projection).toArray()) as unknown as T[]));
  }
  return found;
}

/**
 * Runs write operations as unordered bulks of the store's bulk size and reports, per operation,
 * the `Error` it alone met (undefined when it succeeded). A duplicate key counts as success when
 * `duplicateKeyIsSuccess` (two upserts of one new `_id` in one bulk may meet that way). Throws
 * when a whole bulk fails (connection, write concern).
 */
export async function bulkWriteEach<T extends Document>(
  collection: Collection<T>,
  ops: readonly AnyBulkWriteOperation<T>[],
  store: StoreProfile,
  options: { duplicateKeyIsSuccess?: boolean } = {},
): Promise<(Error | undefined)[]> {
  const outcomes: (Error | undefined)[] = ops.map(() => undefined);
  for (let from = 0; from < ops.length; from += store.bulkSize) {
    try {
      await collection.bulkWrite(ops.slice(from, from + store.bulkSize), { ordered: false });
    } catch (error) {
      const bulk = error as Partial<MongoBulkWriteError> | null;
      if (bulk?.name !== 'MongoBulkWriteError' || bulk.writeErrors === undefined) throw error;
      const failed = ([] as WriteError[]).concat(bulk.writeErrors as WriteError | WriteError[]);
      if (failed.length === 0) throw error;
      for (const w of failed) {
        if (options.duplicateKeyIsSuccess && w.code === 11000) continue;
        outcomes[from + w.index] = new Error(`write failed: ${w.errmsg ?? `code ${w.code}`}`);
      }
    }
  }
  return outcomes;
}

/**
 * Inserts each document unless one with its `_id` exists (an upsert of `$setOnInsert`: the first write
 * wins), in unordered bulks of the store's size. Per document: the `Error` it alone met, or undefined.
 */
export async function insertFirstEach<T extends Document & { _id: string }>(
  collection: Collection<T>,
  docs: readonly T[],
  store: StoreProfile,
): Promise<(Error | undefined)[]> {
  const ops = docs.map(({ _id, ...fields }) => ({
    // index: _id
    updateOne: { filter: { _id } as Filter<T>, update: { $setOnInsert: fields as Partial<T> }, upsert: true },
  }));
  return bulkWriteEach(collection, ops, store, { duplicateKeyIsSuccess: true });
}

/**
 * Writes entries of a suppression replica: the first suppression of an address stays, except that
 * an entry an override may pass (an opt-out through a link) becomes one it may not as soon as a
 * harder fact (complaint, permanent bounce, provider opt-out) arrives; that fact then replaces it.
 * Per entry: the `Error` it alone met, or undefined.
 */
export async function insertSuppressions(
  collection: Collection<SuppressionEntry>,
  entries: readonly SuppressionEntry[],
  store: StoreProfile,
): Promise<(Error | undefined)[]> {
  const outcomes = await insertFirstEach(collection, entries, store);
  const hard = entries.flatMap((e, i) => (e.overridable === true || outcomes[i] !== undefined ? [] : [i]));
  if (hard.length === 0) return outcomes;
  const ops = hard.map((i): AnyBulkWriteOperation<SuppressionEntry> => {
    const { _id, ...fields } = entries[i]!;
    // index: _id
    return { updateOne: { filter: { _id, overridable: true }, update: { $set: { ...fields, overridable: false } } } };
  });
  const hardened = await bulkWriteEach(collection, ops, store);
  hardened.forEach((error, k) => {
    if (error !== undefined) outcomes[hard[k]!] = error;
  });
  return outcomes;
}

/** Creates the given indexes on a collection; idempotent. */
export async function ensureIndexes(db: Db, collection: string, indexes: IndexDescription[]): Promise<void> {
  // One index per command: FerretDB v1.24 drops the connection when one createIndexes command names
  // two or more indexes that already exist (every restart would fail to migrate).
  for (const index of indexes) await db.collection(collection).createIndexes([index]);
}

/** Who enforces a retention: the server's TTL monitor, our own sweep (FerretDB v1), or nobody (off). */
export type RetentionEnforcer = 'server' | 'sweep' | 'none';

/**
 * Makes `name` an index on the Date field `field`, a TTL index expiring documents `seconds` after it
 * (0: retention off, a plain index). An index of that name with other options is dropped and made
 * again (createIndexes cannot change options, and FerretDB v1 has no `collMod`). FerretDB v1 answers
 * `expireAfterSeconds` with "not implemented": the index is then plain and the caller sweeps (see
 * {@link sweepExpired}). Idempotent; returns who enforces the retention.
 */
export async function ensureTtlIndex(
  db: Db,
  collection: string,
  options: { name: string; field: string; seconds: number },
): Promise<RetentionEnforcer> {
  const { name, field, seconds } = options;
  const coll = db.collection(collection);
  const existing = (await coll.indexes()).find((i) => i.name === name);
  const sameKey = existing !== undefined && Object.keys(existing.key).join() === field && existing.key[field] === 1;
  const plain = { key: { [field]: 1 }, name };
  if (seconds <= 0) {
    if (existing !== undefined && (!sameKey || existing.expireAfterSeconds !== undefined)) await coll.dropIndex(name);
    await ensureIndexes(db, collection, [plain]);
    return 'none';
  }
  if (sameKey && existing.expireAfterSeconds === seconds) return 'server';
  try {
    if (existing !== undefined && (!sameKey || existing.expireAfterSeconds !== undefined)) await coll.dropIndex(name);
    else if (existing !== undefined) {
      // A plain index of that name: try the TTL one first (FerretDB refuses it before any conflict).
      try {
        await ensureIndexes(db, collection, [{ ...plain, expireAfterSeconds: seconds }]);
        return 'server';
      } catch (error) {
        if (isNotImplemented(error)) return 'sweep';
        await coll.dropIndex(name);
      }
    }
    await ensureIndexes(db, collection, [{ ...plain, expireAfterSeconds: seconds }]);
    return 'server';
  } catch (error) {
    if (!isNotImplemented(error)) throw error;
    await ensureIndexes(db, collection, [plain]);
    return 'sweep';
  }
}

/**
 * Deletes the documents of `collection` whose `field` is more than `seconds` old: the retention of a
 * server without TTL indexes (FerretDB v1), run periodically. Returns how many it deleted.
 */
export async function sweepExpired(
  db: Db,
  collection: string,
  options: { field: string; seconds: number; now?: Date },
): Promise<number> {
  const before = new Date((options.now ?? new Date()).getTime() - options.seconds * 1_000);
  // index: the retention index on `field` (a range)
  const r = await db.collection(collection).deleteMany({ [options.field]: { $lt: before } });
  return r.deletedCount;
}

/** One retention rule: documents of `collection` are deleted `seconds` after their `field` (0: kept). */
export interface RetentionRule {
  readonly collection: string;
  readonly field: string;
  readonly seconds: number;
}

/**
 * Sweeps the rules' expired documents every `everyMs` (first after `everyMs`), so retention holds on
 * FerretDB v1, which has no TTL monitor; on MongoDB the TTL index has usually deleted them already.
 * A failed sweep is logged and tried again next time. Returns a stop function.
 */
export function startRetentionSweeps(options: {
  db: Db;
  rules: readonly RetentionRule[];
  everyMs: number;
  logger: Logger;
}): () => Promise<void> {
  const rules = options.rules.filter((r) => r.seconds > 0);
  if (rules.length === 0) return () => Promise.resolve();
  let running: Promise<void> = Promise.resolve();
  const sweep = async () => {
    for (const rule of rules) {
      try {
        const deleted = await sweepExpired(options.db, rule.collection, rule);
        if (deleted > 0) options.logger.info({ collection: rule.collection, deleted }, 'expired documents deleted');
      } catch (error) {
        options.logger.warn({ collection: rule.collection, err: describe(error) }, 'retention sweep failed; next time');
      }
    }
  };
  const timer = setInterval(() => {
    running = running.then(sweep);
  }, options.everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

function isNotImplemented(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 238 || (typeof message === 'string' && /not implemented/i.test(message));
}

/** True when a write failed only because a document with that unique key already exists. */
export function isDuplicateKeyError(error: unknown): boolean {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  if (typeof name === 'string' && name.startsWith('Mongo') && code === 11000) return true;
  // Bulk writes report per-document errors; a batch whose every failure is a duplicate counts too.
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) {
    return writeErrors.every((e) => (e as { code?: number }).code === 11000);
  }
  return false;
}

function safeHost(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri);
  return match?.[1] ?? 'the configured host';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
