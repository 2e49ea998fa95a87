// Retention as documented: every row of the table in docs/operations.md ("Erase a person, and
// retention") names a variable, a collection and its field, and a default. Each service's own migrate,
// run with its defaults on the real store, must leave that collection with a retention index on that
// field: a TTL index of exactly the documented seconds on MongoDB, a plain one (swept by the service)
// on FerretDB v1, which has no TTL indexes. The variable's default in the service's schema is the
// documented one. Reporting's records expire by communication (a sweep on its counts' `updatedAt`),
// off by default.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as feedbackLink from '@dlr/feedback-link';
import * as providerCallback from '@dlr/provider-callback';
import * as reporting from '@dlr/reporting';
import { connectMongo, createLogger, type MongoHandle } from '@dlr/platform';
import { uniqueName } from '@dlr/testing';

interface Row {
  service: string;
  variable: string;
  collection: string;
  field: string;
  seconds: number;
}

/** The rows of the retention table that name a variable (the others say a collection is kept). */
function documentedRows(): Row[] {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const rows: Row[] = [];
  const pattern = /^\| ([a-z-]+) \| `([A-Z_]+)` \| `([a-z_]+)` \(`([A-Za-z]+)`\) \| (\d+)\b/gm;
  for (const m of doc.matchAll(pattern)) {
    rows.push({ service: m[1]!, variable: m[2]!, collection: m[3]!, field: m[4]!, seconds: Number(m[5]) });
  }
  return rows;
}

const services: Record<string, { migrate: (mongo: MongoHandle) => Promise<void>; shape: object }> = {
  'provider-callback': { migrate: (m) => providerCallback.migrate(m), shape: providerCallback.configShape },
  'feedback-link': { migrate: (m) => feedbackLink.migrate(m), shape: feedbackLink.configShape },
  reporting: { migrate: (m) => reporting.migrate(m), shape: reporting.configShape },
};

const logger = createLogger('retention-e2e', 'silent');
const handles = new Map<string, MongoHandle>();

beforeAll(async () => {
  const uri = process.env['MONGODB_URI'];
  if (!uri) throw new Error('MONGODB_URI is not set: run through the vitest globalSetup');
  for (const [name, service] of Object.entries(services)) {
    const mongo = await connectMongo({
      uri,
      dbName: uniqueName(`ret_${name.replace('-', '_')}`),
      logger,
      appName: 'retention-e2e',
    });
    await service.migrate(mongo);
    handles.set(name, mongo);
  }
});

afterAll(async () => {
  for (const mongo of handles.values()) {
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  }
});

describe('retention indexes, as docs/operations.md lists them', () => {
  const rows = documentedRows();

  it('documents raw callbacks, parked callbacks and link content', () => {
    expect(rows.map((r) => r.collection)).toEqual(
      expect.arrayContaining(['raw_callbacks', 'parked_callbacks', 'link_content']),
    );
  });

  it.each(rows.map((r) => [`${r.service}: ${r.collection}.${r.field}`, r] as const))(
    '%s has its retention index with the documented default',
    async (_name, row) => {
      const mongo = handles.get(row.service);
      const service = services[row.service];
      expect(mongo, `no migrate wired for ${row.service}`).toBeDefined();
      const shape = service!.shape as Record<string, { parse(v: unknown): unknown }>;
      expect(shape[row.variable]?.parse(undefined), row.variable).toBe(row.seconds);
      const index = (await mongo!.db.collection(row.collection).indexes()).find(
        (i) => Object.keys(i.key).join() === row.field,
      );
      expect(index?.key, `${row.collection}: no index on ${row.field}`).toEqual({ [row.field]: 1 });
      // 0: retention off, a plain index (the service still uses it when retention is set).
      const ttl = /^FerretDB v?1\./.test(mongo!.store.name) || row.seconds === 0 ? undefined : row.seconds;
      expect(index?.expireAfterSeconds, mongo!.store.name).toBe(ttl);
    },
  );
});
