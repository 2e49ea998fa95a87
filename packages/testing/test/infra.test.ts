import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInfra, InfraUnavailableError, uniqueName, type Infra } from '../src/index.js';

/** process.env without the variables that would make ensureInfra reuse servers instead of starting its own. */
function envWithoutServers(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NATS_URL'];
  delete env['MONGODB_URI'];
  return env;
}

function refuses(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('ensureInfra', () => {
  let infra: Infra;
  const lines: string[] = [];

  beforeAll(async () => {
    infra = await ensureInfra({
      env: envWithoutServers(),
      log: (l) => {
        lines.push(l);
        process.stderr.write(`[infra] ${l}\n`);
      },
    });
  }, 900_000);

  afterAll(async () => {
    await infra?.stop();
  });

  it('reports the path and URLs', () => {
    expect(['testcontainers', 'local-binaries']).toContain(infra.path);
    expect(infra.natsUrl).toMatch(/^nats:\/\/[^:]+:\d+$/);
    expect(infra.mongoUri).toMatch(/^mongodb:\/\//);
    expect(lines.some((l) => l.startsWith(`using ${infra.path}:`))).toBe(true);
  });

  it('gives a NATS server that accepts a JetStream stream', async () => {
    const nc = await connect({ servers: infra.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const name = uniqueName('infra_test');
      const info = await jsm.streams.add({ name, subjects: [`${name}.>`] });
      expect(info.config.name).toBe(name);
      const js = jsm.jetstream();
      const ack = await js.publish(`${name}.x`, 'hello');
      expect(ack.seq).toBe(1);
      await jsm.streams.delete(name);
    } finally {
      await nc.close();
    }
  });

  it('gives a MongoDB-compatible server that inserts and finds', async () => {
    const client = new MongoClient(infra.mongoUri, { serverSelectionTimeoutMS: 5_000 });
    try {
      await client.connect();
      const db = client.db(uniqueName('infra_test'));
      const col = db.collection<{ _id: string; n: number }>('things');
      await col.insertOne({ _id: 'a', n: 1 });
      await col.insertMany([
        { _id: 'b', n: 2 },
        { _id: 'c', n: 3 },
      ]);
      const found = await col
        .find({ n: { $gte: 2 } })
        .sort({ n: 1 })
        .toArray();
      expect(found.map((d) => d._id)).toEqual(['b', 'c']);
      await db.dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('gives a store that finds by _id through its index, beside other conditions too, with the same results', async () => {
    // Stock FerretDB v1.24 scans the table for these; the harness builds it patched (patchFerretIdLookups).
    const client = new MongoClient(infra.mongoUri, { serverSelectionTimeoutMS: 5_000 });
    try {
      const db = client.db(uniqueName('infra_test'));
      const col = db.collection<{ _id: string; state: string }>('attempts');
      await col.insertMany([
        { _id: 'a1', state: 'sending' },
        { _id: 'a2', state: 'sent' },
      ]);
      for (const filter of [{ _id: 'a1' }, { _id: 'a1', state: 'sending' }]) {
        const plan = JSON.stringify(await col.find(filter).explain());
        expect(plan, JSON.stringify(filter)).toMatch(/USING INDEX|IXSCAN|IDHACK|EXPRESS/);
      }
      expect(await col.findOne({ _id: 'a1', state: 'sending' })).toEqual({ _id: 'a1', state: 'sending' });
      expect(await col.findOne({ _id: 'a1', state: 'sent' })).toBeNull();
      expect((await col.updateOne({ _id: 'a2', state: 'sending' }, { $set: { state: 'x' } })).matchedCount).toBe(0);
      expect((await col.updateOne({ _id: 'a2', state: 'sent' }, { $set: { state: 'done' } })).modifiedCount).toBe(1);
      expect(await col.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
        { _id: 'a1', state: 'sending' },
        { _id: 'a2', state: 'done' },
      ]);
      await db.dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('gives a store whose $in reads and _id-ordered pages match MongoDB’s results', async () => {
    // The harness's FerretDB v1 serves both from the _id index (patchFerretIdLookups); results must not change.
    const client = new MongoClient(infra.mongoUri, { serverSelectionTimeoutMS: 5_000 });
    try {
      const db = client.db(uniqueName('infra_test'));
      const col = db.collection<{ _id: string; g: number }>('records');
      const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
      const ids = new Set<string>();
      while (ids.size < 400) {
        ids.add(
          Array.from({ length: 4 + (ids.size % 9) }, () => chars[Math.floor(Math.random() * chars.length)]).join(''),
        );
      }
      const docs = [...ids].map((_id, i) => ({ _id, g: i % 3 }));
      await col.insertMany(docs);
      const sorted = [...docs].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      const idsOf = (list: { _id: string }[]) => list.map((d) => d._id);
      expect(idsOf(await col.find({ g: 1 }).sort({ _id: 1 }).limit(5).toArray())).toEqual(
        idsOf(sorted.filter((d) => d.g === 1).slice(0, 5)),
      );
      expect(idsOf(await col.find({ g: 2 }).sort({ _id: -1 }).limit(5).toArray())).toEqual(
        idsOf(
          sorted
            .filter((d) => d.g === 2)
            .reverse()
            .slice(0, 5),
        ),
      );
      const after = sorted[200]!._id;
      expect(
        idsOf(
          await col
            .find({ g: 0, _id: { $gt: after } })
            .sort({ _id: 1 })
            .limit(3)
            .toArray(),
        ),
      ).toEqual(idsOf(sorted.filter((d) => d.g === 0 && d._id > after).slice(0, 3)));
      expect(idsOf(await col.find({}).sort({ _id: 1 }).skip(7).limit(4).toArray())).toEqual(idsOf(sorted.slice(7, 11)));
      const wanted = [sorted[3]!._id, 'absent', sorted[399]!._id, sorted[150]!._id];
      expect(idsOf(await col.find({ _id: { $in: wanted } }).toArray()).sort()).toEqual(
        [sorted[3]!._id, sorted[399]!._id, sorted[150]!._id].sort(),
      );
      expect(idsOf(await col.find({ _id: { $in: wanted }, g: sorted[150]!.g }).toArray())).toContain(sorted[150]!._id);
      expect((await col.updateMany({ _id: { $in: wanted } }, { $set: { g: 9 } })).modifiedCount).toBe(3);
      expect((await col.deleteMany({ _id: { $in: wanted } })).deletedCount).toBe(3);
      expect(await col.countDocuments({})).toBe(397);
      await db.dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('gives a store that takes one update command of 250 statements and answers after it', async () => {
    // A stock FerretDB v1 deadlocks here (every statement's rows stay open to the command's end).
    const client = new MongoClient(infra.mongoUri, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 20_000 });
    await client.connect();
    try {
      const db = client.db(uniqueName('bulk_updates'));
      const col = db.collection<{ _id: string; n: number }>('docs');
      await col.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: `d${String(i).padStart(3, '0')}`, n: 0 })));
      const ops = Array.from({ length: 250 }, (_, i) => ({
        updateOne: { filter: { _id: `d${String(i).padStart(3, '0')}` }, update: { $inc: { n: 1 } } },
      }));
      expect((await col.bulkWrite(ops, { ordered: false })).modifiedCount).toBe(250);
      expect(await col.countDocuments({ n: 1 })).toBe(250);
      await db.dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('with only NATS_URL set, uses it and provides MongoDB itself', async () => {
    const env = envWithoutServers();
    env['NATS_URL'] = infra.natsUrl;
    const lines2: string[] = [];
    const second = await ensureInfra({ env, log: (l) => lines2.push(l) });
    try {
      expect(second.natsUrl).toBe(infra.natsUrl);
      expect(second.servers.nats.source).toBe('env');
      expect(second.path).toBe(infra.path);
      expect(second.mongoUri).not.toBe(infra.mongoUri);
      expect(lines2).toContain('NATS_URL/MONGODB_URI: only NATS_URL set, used for NATS; providing MongoDB');
    } finally {
      await second.stop();
    }
    expect(await refuses(infra.natsUrl)).toBe(false); // stop() leaves a server it was given alone
  });

  it('stop() really stops both servers', async () => {
    await infra.stop();
    expect(await refuses(infra.natsUrl)).toBe(true);
    const mongo = new URL(infra.mongoUri.replace(/\/\?.*$/, '/'));
    expect(await refuses(`tcp://${mongo.host}`)).toBe(true);
    await infra.stop(); // idempotent
  });
});

describe('ensureInfra with nothing available', () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(path.join(os.tmpdir(), 'dlr-infra-empty-cache-'));
  });
  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('says what was tried and what to do', async () => {
    const lines: string[] = [];
    const err = await ensureInfra({
      env: {
        PATH: '/usr/bin:/bin',
        HOME: cache,
        DLR_CACHE_DIR: cache,
        DLR_INFRA_GO: '/nonexistent/go',
        // Deterministic on machines that do have Docker; the live probe is covered by the test above.
        DLR_INFRA_DOCKER: 'off',
      },
      log: (l) => lines.push(l),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfraUnavailableError);
    const msg = (err as Error).message;
    process.stderr.write(`failure message:\n${msg}\n`);
    expect(msg).toBe(
      'No NATS/MongoDB available for tests. Tried: NATS_URL/MONGODB_URI (unset); ' +
        'Docker (skipped: DLR_INFRA_DOCKER=off); ' +
        'local binaries (go not found: DLR_INFRA_GO=/nonexistent/go does not run (ENOENT)). ' +
        'Fix one of: set NATS_URL and MONGODB_URI to running servers; start a Docker engine; ' +
        'install Go (https://go.dev/dl) so `go install` can build nats-server and FerretDB.',
    );
    expect(lines).toContain('local binaries failed: go not found: DLR_INFRA_GO=/nonexistent/go does not run (ENOENT)');
  });

  it('says that go is missing from PATH', async () => {
    const err = await ensureInfra({
      env: { PATH: '/nonexistent-bin', HOME: cache, DLR_CACHE_DIR: cache, DLR_INFRA_DOCKER: 'off' },
      log: () => {},
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfraUnavailableError);
    expect((err as Error).message).toContain(
      'local binaries (go not found on PATH (ENOENT); needed once to build nats-server v2.15.2 and FerretDB v1.24.2)',
    );
  });

  it('fails clearly when NATS_URL is set but nothing answers', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expect(
      ensureInfra({
        env: { NATS_URL: `nats://127.0.0.1:${port}`, MONGODB_URI: 'mongodb://127.0.0.1:1/' },
        log: () => {},
      }),
    ).rejects.toThrow(`NATS_URL is set but does not answer (TCP connect to 127.0.0.1:${port} failed: ECONNREFUSED)`);
  });
});

describe('uniqueName', () => {
  it('adds a random suffix and keeps names safe', () => {
    const a = uniqueName('my test.db');
    const b = uniqueName('my test.db');
    expect(a).toMatch(/^my_test_db_[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });
});

describe('ensureInfra with credentials in the URLs', () => {
  it('names NATS_URL without its user, password or token when the server does not answer', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const lines: string[] = [];
    const err = await ensureInfra({
      env: { NATS_URL: `nats://alice:s3cr3t@127.0.0.1:${port}`, DLR_INFRA_DOCKER: 'off' },
      log: (l) => lines.push(l),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfraUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain(`NATS_URL is set but does not answer (TCP connect to 127.0.0.1:${port} failed`);
    expect([msg, ...lines].join('\n')).not.toMatch(/alice|s3cr3t/);
  });
});
