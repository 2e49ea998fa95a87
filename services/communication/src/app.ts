import { Server } from '@grpc/grpc-js';
import { consumerConfigs, streamConfigs } from '@dlr/contracts';
import { createHttpServer, type BuiltApp, type ServiceConfig, type ServiceDeps } from '@dlr/platform';
import { CommunicationServiceService, communicationGrpc } from './adapters/grpc/service.js';
import { MongoCommunicationStore } from './adapters/mongo/store.js';
import { NatsCommunicationEvents } from './adapters/nats/events.js';
import type { configShape } from './config.js';
import { Communications } from './domain/communications.js';

export { migrate } from './adapters/mongo/store.js';

/** The validated configuration of this service. */
export type Config = ServiceConfig<typeof configShape>;

/** The streams and consumers this service needs (the whole topology, created idempotently). */
export function topology(namespace: string) {
  return { streams: streamConfigs(namespace), consumers: consumerConfigs(namespace) };
}

/** Wires the communication service; listens on nothing. */
export async function buildApp(deps: ServiceDeps<Config>): Promise<BuiltApp & { communications: Communications }> {
  const { config, logger, mongo, nats } = deps;
  const communications = new Communications(
    new MongoCommunicationStore(mongo),
    new NatsCommunicationEvents(nats, config.NATS_NAMESPACE),
    logger,
  );
  const grpc = new Server();
  grpc.addService(CommunicationServiceService, communicationGrpc(communications, logger));
  const http = createHttpServer({
    logger,
    readiness: [
      { name: 'mongodb', check: () => mongo.ping() },
      { name: 'nats', check: () => nats.ping() },
    ],
  });
  return {
    http,
    grpc,
    communications,
    start: () => communications.resume(),
    stopConsuming: () => communications.stop(),
  };
}
