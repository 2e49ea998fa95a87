// Path 2: NATS and MongoDB in containers through testcontainers, only if a container engine answers a quick probe.
import type * as Testcontainers from 'testcontainers';
import { allOrFirstError, describeNeed, errorMessage, seconds, type Need, type Provided } from './common.js';
import type { InfraServer } from './types.js';
import { MONGO_IMAGE, NATS_IMAGE } from './versions.js';

const DOCKER_PROBE_MS = 5_000;

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

export async function tryTestcontainers(
  need: Need,
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
