// Public entry point of @dlr/platform: the plumbing every service shares (config, logging, telemetry,
// MongoDB, NATS, HTTP and gRPC edges, lifecycle). Only what is listed here is public.
export { createAdminServer, Readiness, type ReadinessCheck, type ReadinessReport } from './admin.js';
export { runBatchConsumer, type BatchConsumerOptions, type BatchItem, type BatchOutcome } from './batch-consumer.js';
export { baseConfigShape, flag, loadConfig, port } from './config.js';
export {
  AppError,
  ConfigError,
  FailedPreconditionError,
  InvalidArgumentError,
  isRetryable,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  type ErrorCode,
} from './errors.js';
export {
  getDeadLetter,
  listDeadLetters,
  replayDeadLetters,
  replayMsgId,
  type DeadLetter,
  type ReplayOutcome,
} from './dead-letters.js';
export {
  consumeDeliveryEvents,
  consumeErasures,
  deliveryEventPublisher,
  suppressingEventConsumers,
  type DeliveryEventPublisher,
} from './events.js';
export { groupCommit, type GroupCommitOptions } from './group-commit.js';
export {
  addHealthAndReflection,
  grpcError,
  GrpcServer,
  listenGrpc,
  type GrpcMethod,
  PUBLIC_GRPC_SERVICES,
  shutdownGrpc,
  unary,
} from './grpc.js';
export {
  bearerInterceptor,
  GrpcAuth,
  grpcCallerOf,
  protectGrpc,
  serviceAuthConfigShape,
  type GrpcCaller,
  type GrpcRoles,
} from './grpc-auth.js';
export { createHttpServer, httpError } from './http.js';
export {
  EXIT_WITH_PARENT_ENV,
  runMain,
  SHUTDOWN_BUDGET_MS,
  shutdownInOrder,
  type MainProcess,
  type ShutdownStep,
} from './lifecycle.js';
export { createLogger, REDACTED_KEYS, type Logger } from './logger.js';
export {
  addMetricsRoute,
  defineCounter,
  defineGauge,
  defineHistogram,
  LATENCY_BUCKETS,
  metricsRegistry,
  platformMetrics,
  renderMetrics,
  subjectLabel,
  trackConsumerLag,
} from './metrics.js';
export {
  bulkWriteEach,
  insertFirstEach,
  connectMongo,
  ensureIndexes,
  ensureTtlIndex,
  sweepExpired,
  startRetentionSweeps,
  type RetentionRule,
  type RetentionEnforcer,
  findByIds,
  insertSuppressions,
  isDuplicateKeyError,
  storeProfile,
  type MongoHandle,
  type StoreProfile,
} from './mongo.js';
export {
  connectNats,
  deadLetterMessage,
  ensureTopology,
  PoisonMessageError,
  perTurn,
  publishDurable,
  runConsumer,
  startConsumers,
  startConsumerSpan,
  type ConsumerHandle,
  type ConsumerSpec,
  type MessageContext,
  type NatsHandle,
} from './nats.js';
export { installAccess, registeredRoutes, type HttpRoute } from './access.js';
export {
  allows,
  bearerToken,
  OPERATOR_COOKIE,
  OperatorAuth,
  operatorAuthConfigShape,
  operatorOf,
  ROLES,
  safeNext,
  sameSecret,
  SIGN_IN_PATH,
  SIGN_OUT_PATH,
  type Operator,
  type OperatorAuthConfig,
  type OperatorAuthOptions,
  type Role,
} from './operator-auth.js';
export { backoffDelay, retry, type RetryOptions } from './retry.js';
export {
  migrateService,
  serviceMain,
  startService,
  type BaseConfig,
  type BuiltApp,
  type RunningService,
  type ServiceConfig,
  type ServiceDefinition,
  type ServiceDeps,
} from './service.js';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.js';
export {
  activeTraceIds,
  extractGrpcMetadata,
  extractHttpHeaders,
  extractNatsHeaders,
  injectNatsHeaders,
  inSpan,
  markFailed,
  SpanKind,
  traceHeaders,
  traceMetadata,
  tracer,
  type InSpanOptions,
} from './tracing.js';
export { isTransient } from './transient.js';
