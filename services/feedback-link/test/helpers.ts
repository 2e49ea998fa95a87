import { systemTopology } from '@dlr/contracts';
import {
  baseConfigShape,
  connectMongo,
  connectNats,
  ensureTopology,
  loadConfig,
  type BuiltApp,
  type Logger,
  type MongoHandle,
  type NatsHandle,
} from '@dlr/platform';
import { infraEnv, isolation as isolate } from '@dlr/testing';
import { buildApp, migrate } from '../src/app.js';
import { configShape } from '../src/config.js';

export { eventually, messageCount, storedEvents } from '@dlr/testing';

/** Per-file isolation: a database name and a NATS namespace of our own. */
export const isolation = () => isolate('fl');

/** The URLs of the shared test servers (set by the global setup, or by hand). */
export const serverUrls = () => infraEnv();

/**
 * feedback-link wired on the given servers as main.ts wires it: connected, topology and indexes in
 * place, consumers started. The caller stops the app and closes both connections.
 */
export async function startFeedbackLink(o: {
  mongoUri: string;
  natsUrl: string;
  db: string;
  namespace: string;
  linkKeys: string;
  logger: Logger;
  /** More variables (e.g. retention). */
  env?: Record<string, string>;
}): Promise<{ mongo: MongoHandle; nats: NatsHandle; app: BuiltApp }> {
  const { logger } = o;
  const mongo = await connectMongo({ uri: o.mongoUri, dbName: o.db, logger, appName: 'test' });
  const nats = await connectNats({ servers: o.natsUrl, name: 'test', logger });
  const t = systemTopology(o.namespace);
  await ensureTopology(nats.jsm, t.streams, t.consumers);
  const config = loadConfig(
    { ...baseConfigShape, ...configShape },
    {
      MONGODB_URI: o.mongoUri,
      MONGODB_DB: o.db,
      NATS_URL: o.natsUrl,
      NATS_NAMESPACE: o.namespace,
      LOG_LEVEL: 'silent',
      LINK_SIGNING_KEYS: o.linkKeys,
      ...o.env,
    },
  );
  await migrate(mongo, config);
  const app = await buildApp({ config, logger, mongo, nats });
  await app.start?.();
  return { mongo, nats, app };
}
