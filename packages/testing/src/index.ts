export { ensureInfra, infraEnv } from './infra/resolve.js';
export {
  InfraUnavailableError,
  type Infra,
  type InfraPath,
  type InfraServer,
  type EnsureInfraOptions,
} from './infra/types.js';
export { infraCacheDir } from './infra/binaries.js';
export { freePort } from './infra/probes.js';
export { startPrivateServer, type PrivateServer } from './infra/private.js';
export { NATS_SERVER_VERSION, FERRETDB_VERSION, NATS_IMAGE, MONGO_IMAGE, GRPCURL_VERSION } from './infra/versions.js';
export { ensureGrpcurl, ensureNode } from './infra/tools.js';
export { communicationClient, type CommunicationApi } from './clients.js';
export {
  REPO_ROOT,
  startSystem,
  SYSTEM_PROCESSES,
  type RunningSystem,
  type StartSystemOptions,
  type SystemProcessName,
  type ReplicableService,
  type ReplicaProcess,
  type ServiceName,
} from './system.js';
export { eventually, isolation, messageCount, present, storedEvents, uniqueName } from './helpers.js';
export { grpcurl, type GrpcurlRun } from './grpcurl.js';
export { describePublicGrpc, type PublicGrpcCase } from './grpc-public.js';
