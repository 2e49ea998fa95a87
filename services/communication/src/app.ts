import {
  ConfigError,
  createHttpServer,
  GrpcAuth,
  GrpcServer,
  OperatorAuth,
  protectGrpc,
  type BuiltApp,
  type GrpcRoles,
  type ConsumerHandle,
  type ServiceConfig,
  type ServiceDeps,
} from '@dlr/platform';
import type { CommunicationServiceServer } from '@dlr/contracts';
import { CommunicationServiceService, communicationGrpc } from './adapters/grpc/service.js';
import { MongoCommunicationStore } from './adapters/mongo/store.js';
import { registerConsole } from './adapters/http/console.js';
import { NatsCommunicationEvents } from './adapters/nats/events.js';
import { MongoSuppressionLiftStore } from './adapters/mongo/suppression-lifts.js';
import { MongoSuppressions } from './adapters/mongo/suppressions.js';
import { startSuppressionConsumers } from './adapters/nats/suppressions.js';
import { NatsSuppressionLiftEvents } from './adapters/nats/suppression-lifts.js';
import { suppressionGrpc } from './adapters/grpc/suppression.js';
import { SuppressionLifts } from './domain/suppression-lifts.js';
import { erasureGrpc } from './adapters/grpc/erasure.js';
import { MongoErasure } from './adapters/mongo/erasure.js';
import { NatsErasureEvents, startErasureConsumer } from './adapters/nats/erasure.js';
import { Erasures } from './domain/erasure.js';
import { ReportingStatuses } from './adapters/reporting/statuses.js';
import type { configShape } from './config.js';
import { Communications } from './domain/communications.js';
import { OperatorActions } from './domain/operator-actions.js';
import { PreviewSummaries } from './domain/preview-summary.js';
import { Templates } from './domain/templates.js';
import { MongoTemplates } from './adapters/mongo/templates.js';
import { MongoPreviewSummaries } from './adapters/mongo/preview-summaries.js';
import { controlsGrpc } from './adapters/grpc/controls.js';
import { draftsGrpc } from './adapters/grpc/drafts.js';
import { historyGrpc } from './adapters/grpc/history.js';
import { RecipientHistory } from './domain/history.js';
import { Drafts } from './domain/drafts.js';
import { MongoAuditLog, migrateAuditLog } from './adapters/mongo/audit-log.js';
import { MongoCancelStore } from './adapters/mongo/cancel.js';
import { MongoSuppressionList } from './adapters/mongo/suppression-list.js';
import { migrate as migrateStore } from './adapters/mongo/store.js';
import { KvCancelSignal } from './adapters/nats/cancel.js';
import { AuditQueries } from './domain/audit-log.js';
import { SendCancellation } from './domain/cancel.js';
import { SuppressionQueries } from './domain/suppression-list.js';
import type { MongoHandle } from '@dlr/platform';

/** Creates this service's indexes (idempotent). */
export async function migrate(mongo: MongoHandle): Promise<void> {
  await migrateStore(mongo);
  await migrateAuditLog(mongo);
}

/** The role each CommunicationService method needs (viewer reads, sender sends, admin overrides and lifts). */
export const COMMUNICATION_ROLES: GrpcRoles<CommunicationServiceServer> = {
  getCommunication: 'viewer',
  listCommunications: 'viewer',
  getRecipientHistory: 'viewer',
  createCommunication: 'sender',
  addRecipients: 'sender',
  previewDelivery: 'sender',
  sendCommunication: 'sender',
  resendCommunication: 'sender',
  overridePreferences: 'admin',
  liftSuppression: 'admin',
  erasePerson: 'admin',
  cancelCommunication: 'sender',
  listAuditLog: 'admin',
  listSuppressions: 'admin',
  updateDraft: 'sender',
  deleteDraft: 'sender',
  removeRecipients: 'sender',
  createTemplate: 'sender',
  listTemplates: 'viewer',
};

/** The validated configuration of this service. */
export type Config = ServiceConfig<typeof configShape>;

/** Wires the communication service; listens on nothing. */
export async function buildApp(
  deps: ServiceDeps<Config>,
): Promise<BuiltApp & { communications: Communications; actions: OperatorActions; drafts: Drafts }> {
  const { config, logger, mongo, nats } = deps;
  const store = new MongoCommunicationStore(mongo);
  const events = new NatsCommunicationEvents(nats, config.NATS_NAMESPACE);
  // National phone formats are read in PHONE_DEFAULT_REGION; without it only +<country code>.
  const phoneRules = { defaultRegion: config.PHONE_DEFAULT_REGION };
  const communications = new Communications(store, events, logger, () => new Date(), phoneRules, store);
  // Communication's own replica of the suppression list, fed by delivery events (SPEC §4/§5).
  const suppressions = new MongoSuppressions(mongo);
  if (config.REPORTING_GRPC_URL && !config.SERVICE_TOKEN) {
    throw new ConfigError([
      "SERVICE_TOKEN: required with REPORTING_GRPC_URL (reporting's gRPC refuses calls without it)",
    ]);
  }
  const statuses =
    config.REPORTING_GRPC_URL && config.SERVICE_TOKEN
      ? new ReportingStatuses(config.REPORTING_GRPC_URL, config.SERVICE_TOKEN)
      : undefined;
  const operatorAuth = OperatorAuth.fromConfig(config);
  const audit = new MongoAuditLog(mongo);
  const actions = new OperatorActions({
    audit,
    store,
    events,
    communications,
    logger,
    statuses,
    suppressions,
    previews: new PreviewSummaries({
      store,
      summaries: new MongoPreviewSummaries(mongo),
      suppressions,
      smsLinkLength: config.SMS_LINK_LENGTH,
      logger,
    }),
    smsLinkLength: config.SMS_LINK_LENGTH,
  });
  const drafts = new Drafts({ store, events, audit, logger, phoneRules });
  const history = new RecipientHistory({ store, records: statuses, logger, phoneRules });
  const grpc = new GrpcServer();
  const lifts = new SuppressionLifts(
    new MongoSuppressionLiftStore(mongo),
    new NatsSuppressionLiftEvents(nats, config.NATS_NAMESPACE),
    suppressions,
    logger,
    undefined,
    audit,
    phoneRules,
  );
  const erasure = new MongoErasure(mongo);
  const erasures = new Erasures(
    erasure,
    audit,
    new NatsErasureEvents(nats, config.NATS_NAMESPACE),
    logger,
    undefined,
    phoneRules,
  );
  const controls = {
    cancellation: new SendCancellation({
      store: new MongoCancelStore(mongo),
      signal: new KvCancelSignal(nats, config.NATS_NAMESPACE),
      audit,
      logger,
    }),
    audit: new AuditQueries(audit),
    suppressions: new SuppressionQueries(new MongoSuppressionList(mongo), phoneRules),
    lifts,
  };
  const templates = new Templates(new MongoTemplates(mongo), logger);
  grpc.addService(
    CommunicationServiceService,
    protectGrpc(
      CommunicationServiceService,
      communicationGrpc(
        communications,
        logger,
        actions,
        suppressionGrpc(lifts, logger),
        erasureGrpc(erasures, logger),
        controlsGrpc(controls, logger),
        templates,
        draftsGrpc(drafts, async (id) => (await communications.get(id)).deliveryCount, logger),
        historyGrpc(history, logger),
      ),
      new GrpcAuth(operatorAuth, config.SERVICE_TOKEN),
      logger,
      COMMUNICATION_ROLES,
    ),
  );
  const http = await createHttpServer({ logger, auth: operatorAuth, title: 'Operator console' });
  registerConsole(http, {
    communications,
    actions,
    erasures,
    logger,
    reportingPublicUrl: config.REPORTING_PUBLIC_URL,
    controls,
    drafts,
    history,
    templates,
  });
  let suppressionConsumers: ConsumerHandle | undefined;
  let erasureConsumer: ConsumerHandle | undefined;
  return {
    http,
    grpc,
    communications,
    actions,
    drafts,
    start: async () => {
      suppressionConsumers = await startSuppressionConsumers({
        nats,
        namespace: config.NATS_NAMESPACE,
        store,
        suppressions,
        logger,
      });
      erasureConsumer = await startErasureConsumer({ nats, namespace: config.NATS_NAMESPACE, erasure, logger });
      await communications.resume();
      await drafts.resume();
      await actions.resume();
    },
    stopConsuming: async () => {
      await communications.stop();
      await actions.settled();
      await suppressionConsumers?.stop();
      await erasureConsumer?.stop();
      statuses?.close();
    },
  };
}
