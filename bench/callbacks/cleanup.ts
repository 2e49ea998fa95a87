// Removes what a benchmark run left in the shared servers: the namespace's databases (one per
// service, `<namespace>_<service>`) and its JetStream streams (and with them their consumers).
import { streamNames } from '@dlr/contracts';
import { connectNats, createLogger } from '@dlr/platform';
import { MongoClient } from 'mongodb';

/** Drops the namespace's databases and streams; returns how many of each it removed. */
export async function dropNamespace(
  mongoUri: string,
  natsUrl: string,
  namespace: string,
): Promise<{ databases: number; streams: number }> {
  const prefix = `${namespace.replaceAll('-', '_')}_`;
  const mongo = await MongoClient.connect(mongoUri, { appName: 'bench-cleanup' });
  let databases = 0;
  try {
    const { databases: all } = await mongo.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of all) {
      if (!name.startsWith(prefix)) continue;
      await mongo.db(name).dropDatabase();
      databases += 1;
    }
  } finally {
    await mongo.close();
  }
  const nats = await connectNats({ servers: natsUrl, name: 'bench-cleanup', logger: createLogger('bench', 'warn') });
  let streams = 0;
  try {
    for (const name of Object.values(streamNames(namespace))) {
      if (await nats.jsm.streams.delete(name).catch(() => false)) streams += 1;
    }
  } finally {
    await nats.drain();
  }
  return { databases, streams };
}
