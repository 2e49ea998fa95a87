// Shared set-up of the communication service's integration tests: the service in-process on the
// shared NATS and MongoDB-compatible servers, a gRPC client of every method, and a stand-in for the
// reporting service's gRPC API (another service, so the tests decide which statuses it reports).
import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  CommunicationServiceClient,
  DeliveryRecord,
  type DeliveryStatus,
  AddRecipientsRequest,
  type RecipientInput,
  type AddRecipientsResponse,
  CreateCommunicationRequest,
  type CreateTemplateRequest,
  type CreateTemplateResponse,
  type ListTemplatesRequest,
  type ListTemplatesResponse,
  type CreateCommunicationResponse,
  type GetCommunicationRequest,
  type GetCommunicationResponse,
  type GetRecipientHistoryRequest,
  type GetRecipientHistoryResponse,
  type LiftSuppressionRequest,
  type ErasePersonRequest,
  type ErasePersonResponse,
  type LiftSuppressionResponse,
  type ListCommunicationsRequest,
  type ListCommunicationsResponse,
  type OverridePreferencesRequest,
  type OverridePreferencesResponse,
  PreviewDeliveryRequest,
  type PreviewDeliveryResponse,
  type ResendCommunicationRequest,
  type ResendCommunicationResponse,
  type SendCommunicationRequest,
  type SendCommunicationResponse,
  PersonErased,
  RecipientsAdded,
  ReportingServiceService,
  SendRequested,
  streamNames,
  subjects,
  type ReportingServiceServer,
} from '@dlr/contracts';
import { bearerInterceptor, startService, type RunningService } from '@dlr/platform';
import { isolation } from '@dlr/testing';
import { buildApp, configShape, migrate } from '../src/index.js';

/** The static operator token the tests sign in with. */
export const OPERATOR_TOKEN = 'test-operator-token-0123456789';
/** The token communication sends to reporting's gRPC (and accepts on its own). */
export const SERVICE_TOKEN = 'test-service-token-0123456789-abcdefghij';

/** Statuses the stand-in reporting service answers with, by delivery ID (all in one communication). */
export type StatusBoard = Map<string, { communicationId: string; status: DeliveryStatus; response?: string }>;

/** A ReportingService that lists the records on `board` (the filters it is given are applied). */
export async function startReportingStandIn(board: StatusBoard): Promise<{ address: string; stop(): Promise<void> }> {
  const server = new Server();
  const impl: Pick<ReportingServiceServer, 'listDeliveryRecords' | 'getDeliveryRecords'> = {
    getDeliveryRecords: (call, callback) => {
      if (call.metadata.get('authorization')[0] !== `Bearer ${SERVICE_TOKEN}`) {
        callback({ code: status.UNAUTHENTICATED, details: 'send the service token' }, null);
        return;
      }
      const records = call.request.ids.flatMap((id) => {
        const r = board.get(id);
        return r
          ? [
              DeliveryRecord.fromPartial({
                id,
                communicationId: r.communicationId,
                status: r.status,
                response: r.response ?? '',
                attempt: 1,
              }),
            ]
          : [];
      });
      callback(null, { records });
    },
    listDeliveryRecords: (call, callback) => {
      // As reporting does: only our services (or operators) may list records.
      if (call.metadata.get('authorization')[0] !== `Bearer ${SERVICE_TOKEN}`) {
        callback({ code: status.UNAUTHENTICATED, details: 'send the service token' }, null);
        return;
      }
      const { communicationId, statuses } = call.request;
      const all = [...board.entries()].filter(([, r]) => r.communicationId === communicationId);
      const records = all
        .filter(([, r]) => statuses.length === 0 || statuses.includes(r.status))
        .map(([id, r]) => DeliveryRecord.fromPartial({ id, communicationId, status: r.status, attempt: 1 }));
      // As reporting does: the counts are the communication's, whatever the filter.
      const counts = new Map<DeliveryStatus, number>();
      for (const [, r] of all) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      callback(null, {
        records,
        counts: [...counts].map(([status, count]) => ({ status, count })),
        total: records.length,
        nextPageToken: '',
        title: '',
      });
    },
  };
  server.addService(ReportingServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/**
 * startService's options for communication on the shared test servers, in its own database and
 * namespace, on free ports, silent; `env` adds or overrides variables.
 */
export function serviceOptions(where: { db: string; namespace: string }, env: Record<string, string> = {}) {
  const { NATS_URL, MONGODB_URI } = process.env;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  return {
    name: 'communication',
    shape: configShape,
    migrate,
    grpcPortKey: 'GRPC_PORT',
    build: buildApp,
    env: {
      NATS_URL,
      MONGODB_URI,
      MONGODB_DB: where.db,
      NATS_NAMESPACE: where.namespace,
      HTTP_PORT: '0',
      ADMIN_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      ...env,
    },
  } as const;
}

/** The service under test and what a test needs around it. */
export interface Harness {
  service: RunningService<unknown>;
  namespace: string;
  client: CommunicationServiceClient;
  api: ReturnType<typeof api>;
  nc: NatsConnection;
  board: StatusBoard;
  stop(): Promise<void>;
}

/** Starts the service (with console and resend wired) and the reporting stand-in. */
export async function startHarness(prefix: string, env: Record<string, string> = {}): Promise<Harness> {
  const where = isolation(prefix);
  const board: StatusBoard = new Map();
  const reporting = await startReportingStandIn(board);
  const service = await startService(
    serviceOptions(where, {
      OPERATOR_TOKEN,
      SERVICE_TOKEN,
      REPORTING_GRPC_URL: reporting.address,
      REPORTING_PUBLIC_URL: 'https://reports.example.org',
      ...env,
    }),
  );
  const client = new CommunicationServiceClient(`127.0.0.1:${service.grpcPort}`, credentials.createInsecure(), {
    interceptors: [bearerInterceptor(OPERATOR_TOKEN)],
  });
  const nc = await connect({ servers: process.env.NATS_URL! });
  return {
    service,
    namespace: where.namespace,
    client,
    api: api(client),
    nc,
    board,
    stop: async () => {
      client.close();
      await nc.close();
      await service.stop();
      await reporting.stop();
    },
  };
}

type Unary<Req, Res> = (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown;

function unary<Req, Res>(method: Unary<Req, Res>): (req: Req) => Promise<Res> {
  return (req) =>
    new Promise((resolve, reject) =>
      method(req, new Metadata(), (e: ServiceError | null, r: Res) => (e ? reject(e) : resolve(r))),
    );
}

/** A promise-returning client of every `CommunicationService` method. */
export function api(client: CommunicationServiceClient) {
  return {
    /** `templateId` may be left out (none). */
    createCommunication: (req: Partial<CreateCommunicationRequest>) =>
      unary<CreateCommunicationRequest, CreateCommunicationResponse>(client.createCommunication.bind(client))(
        CreateCommunicationRequest.fromPartial(req),
      ),
    createTemplate: (req: { name: string; content: Partial<CreateCommunicationRequest> }) =>
      unary<CreateTemplateRequest, CreateTemplateResponse>(client.createTemplate.bind(client))({
        name: req.name,
        content: CreateCommunicationRequest.fromPartial(req.content),
      }),
    listTemplates: unary<ListTemplatesRequest, ListTemplatesResponse>(client.listTemplates.bind(client)),
    getCommunication: unary<GetCommunicationRequest, GetCommunicationResponse>(client.getCommunication.bind(client)),
    /** A recipient's `fields` may be left out (none). */
    addRecipients: (req: {
      communicationId: string;
      recipients: (Omit<RecipientInput, 'fields'> & Partial<Pick<RecipientInput, 'fields'>>)[];
    }) =>
      unary<AddRecipientsRequest, AddRecipientsResponse>(client.addRecipients.bind(client))(
        AddRecipientsRequest.fromPartial(req),
      ),
    sendCommunication: unary<SendCommunicationRequest, SendCommunicationResponse>(
      client.sendCommunication.bind(client),
    ),
    listCommunications: unary<ListCommunicationsRequest, ListCommunicationsResponse>(
      client.listCommunications.bind(client),
    ),
    previewDelivery: (req: Partial<PreviewDeliveryRequest>) =>
      unary<PreviewDeliveryRequest, PreviewDeliveryResponse>(client.previewDelivery.bind(client))(
        PreviewDeliveryRequest.fromPartial(req),
      ),
    overridePreferences: unary<OverridePreferencesRequest, OverridePreferencesResponse>(
      client.overridePreferences.bind(client),
    ),
    resendCommunication: unary<ResendCommunicationRequest, ResendCommunicationResponse>(
      client.resendCommunication.bind(client),
    ),
    getRecipientHistory: unary<GetRecipientHistoryRequest, GetRecipientHistoryResponse>(
      client.getRecipientHistory.bind(client),
    ),
    liftSuppression: unary<LiftSuppressionRequest, LiftSuppressionResponse>(client.liftSuppression.bind(client)),
    erasePerson: unary<ErasePersonRequest, ErasePersonResponse>(client.erasePerson.bind(client)),
  };
}

/** The ServiceError a call fails with (fails the test when it succeeds). */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

async function readAll<T>(
  nc: NatsConnection,
  stream: string,
  subject: string,
  decode: (b: Uint8Array) => T,
): Promise<T[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const out: T[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg && msg.subject === subject) out.push(decode(msg.data));
  }
  return out;
}

/** Every SendRequested stored in the namespace (oldest first). */
export function sendRequests(h: Harness): Promise<SendRequested[]> {
  return readAll(h.nc, streamNames(h.namespace).dispatch, subjects(h.namespace).sendRequested, (b) =>
    SendRequested.decode(b),
  );
}

/** Every PersonErased stored in the namespace (oldest first), with its raw bytes. */
export function personErasedEvents(h: Harness): Promise<{ event: PersonErased; raw: Uint8Array }[]> {
  return readAll(h.nc, streamNames(h.namespace).communication, subjects(h.namespace).personErased, (b) => ({
    event: PersonErased.decode(b),
    raw: b,
  }));
}

/** Every RecipientsAdded stored in the namespace (oldest first). */
export function recipientsAdded(h: Harness): Promise<RecipientsAdded[]> {
  return readAll(h.nc, streamNames(h.namespace).communication, subjects(h.namespace).recipientsAdded, (b) =>
    RecipientsAdded.decode(b),
  );
}
