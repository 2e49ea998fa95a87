export {
  ensureInfra,
  uniqueName,
  infraEnv,
  infraCacheDir,
  freePort,
  InfraUnavailableError,
  NATS_SERVER_VERSION,
  FERRETDB_VERSION,
  NATS_IMAGE,
  MONGO_IMAGE,
  type Infra,
  type InfraPath,
  type InfraServer,
  type EnsureInfraOptions,
} from './infra.js';
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
} from './system.js';
export { eventually, isolation, messageCount, storedEvents } from './helpers.js';
