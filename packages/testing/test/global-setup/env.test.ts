import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { expect, inject, it } from 'vitest';
// By package name on purpose: checks that the "source" condition resolves workspace packages without a build.
import { infraEnv, uniqueName } from '@dlr/testing';

it('globalSetup provides the URLs via inject() and process.env', () => {
  const { natsUrl, mongoUri } = infraEnv();
  expect(inject('natsUrl')).toBe(natsUrl);
  expect(inject('mongoUri')).toBe(mongoUri);
  expect(natsUrl).toMatch(/^nats:\/\//);
  expect(mongoUri).toMatch(/^mongodb:\/\//);
  expect(process.env['DLR_INFRA_PATH']).toBe(inject('infraPath'));
});

it('the servers answer from inside a test worker', async () => {
  const { natsUrl, mongoUri } = infraEnv();
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const name = uniqueName('gs');
    await jsm.streams.add({ name, subjects: [`${name}.>`] });
    await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
  const client = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const col = client.db(uniqueName('gs')).collection('c');
    await col.insertOne({ a: 1 });
    expect(await col.countDocuments()).toBe(1);
    await col.drop();
  } finally {
    await client.close();
  }
});
