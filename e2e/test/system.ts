// The one way an e2e test starts the whole system: the servers the vitest global setup found, a
// namespace and databases of its own, logs in a temporary directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSystem, uniqueName, type RunningSystem, type StartSystemOptions } from '@dlr/testing';

/**
 * Options of {@link startE2eSystem}: those of `startSystem` except what it sets itself. `natsUrl` /
 * `mongoUri` default to the shared servers; a fault test passes its private ones (to kill or freeze).
 */
export type E2eSystemOptions = Partial<Omit<StartSystemOptions, 'namespace' | 'logDir'>>;

/** Starts the five services and the simulator for one test file (`name` prefixes its namespace and log directory). */
export async function startE2eSystem(name: string, options: E2eSystemOptions = {}): Promise<RunningSystem> {
  const NATS_URL = options.natsUrl ?? process.env.NATS_URL;
  const MONGODB_URI = options.mongoUri ?? process.env.MONGODB_URI;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  return startSystem({
    simulatorDelayMs: 300,
    log: () => undefined,
    ...options,
    natsUrl: NATS_URL,
    mongoUri: MONGODB_URI,
    namespace: uniqueName(name)
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, ''),
    logDir: mkdtempSync(join(tmpdir(), `dlr-${name}-`)),
  });
}
