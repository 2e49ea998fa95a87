// gRPC `dlr.reporting.v1.ReportingService`: the same data as REST — a filtered page with counts, and
// a server stream of live changes.
import {
  channelName,
  channelOf,
  DeliveryRecord,
  ReportingServiceService,
  type GetDeliveryRecordsRequest,
  type GetDeliveryRecordsResponse,
  type ListDeliveryRecordsRequest,
  type ListDeliveryRecordsResponse,
  type ReportingServiceServer,
  type WatchDeliveryRecordsRequest,
  type WatchDeliveryRecordsResponse,
} from '@dlr/contracts';
import {
  grpcError,
  GrpcServer,
  InvalidArgumentError,
  protectGrpc,
  unary,
  type GrpcAuth,
  type Logger,
} from '@dlr/platform';
import { STATUS_KEYS, STATUSES, statusFromProto, type StatusCounts } from '@dlr/status-engine';
import { status as grpcStatus, type ServerWritableStream } from '@grpc/grpc-js';
import {
  checkFilters,
  checkId,
  parseLimit,
  type DeliveryRecordView,
  type ReportQueries,
} from '../../domain/report-queries.js';
import type { ChangeWatcher } from '../../domain/watch.js';

function toProto(r: DeliveryRecordView): DeliveryRecord {
  return DeliveryRecord.fromPartial({
    id: r.id,
    communicationId: r.communicationId,
    channel: channelOf(r.channel),
    recipientName: r.recipientName,
    address: r.address,
    status: STATUSES[r.status].proto,
    response: r.response,
    reasonCode: r.reasonCode,
    attempt: r.attempt,
    updatedAt: r.updatedAt,
  });
}

function countsProto(counts: StatusCounts) {
  return STATUS_KEYS.map((k) => ({ status: STATUSES[k].proto, count: counts[k] }));
}

/** Builds the (not yet listening) gRPC server; every call must pass `auth` (operators and our services). */
export function buildGrpcServer(
  queries: ReportQueries,
  watcher: ChangeWatcher,
  auth: GrpcAuth,
  logger: Logger,
): GrpcServer {
  const server = new GrpcServer();
  const impl: ReportingServiceServer = {
    listDeliveryRecords: unary<ListDeliveryRecordsRequest, ListDeliveryRecordsResponse>(
      logger,
      'ListDeliveryRecords',
      async (request) => {
        const statuses = (request.statuses ?? []).map((s) => {
          const key = statusFromProto(s);
          if (key === undefined) throw new InvalidArgumentError('statuses must be known statuses (not UNSPECIFIED)');
          return key;
        });
        const channels = (request.channels ?? []).map((c) => {
          const name = channelName(c);
          if (name === undefined) throw new InvalidArgumentError('channels must be EMAIL or SMS');
          return name;
        });
        const page = await queries.list({
          communicationId: request.communicationId,
          limit: parseLimit(request.pageSize),
          cursor: request.pageToken,
          filters: checkFilters({ statuses, channels, response: request.response, search: request.search }),
        });
        return {
          records: page.records.map(toProto),
          counts: countsProto(page.counts),
          total: page.total,
          nextPageToken: page.nextCursor ?? '',
          title: page.title,
        };
      },
    ),
    getDeliveryRecords: unary<GetDeliveryRecordsRequest, GetDeliveryRecordsResponse>(
      logger,
      'GetDeliveryRecords',
      async (request) => ({ records: (await queries.getMany(request.ids)).map(toProto) }),
    ),
    watchDeliveryRecords: (call: ServerWritableStream<WatchDeliveryRecordsRequest, WatchDeliveryRecordsResponse>) => {
      const fail = (error: unknown) => {
        const mapped = grpcError(error);
        if ((mapped.code ?? grpcStatus.INTERNAL) === grpcStatus.INTERNAL) {
          logger.error({ err: error, method: 'WatchDeliveryRecords' }, 'gRPC stream failed');
        }
        call.emit('error', mapped);
      };
      let stop: (() => void) | undefined;
      const start = async () => {
        const communicationId = checkId(call.request.communicationId, 'communication id');
        const counts = await queries.counts(communicationId);
        if (call.cancelled) return;
        call.write({ records: [], counts: countsProto(counts.status), total: counts.total });
        stop = watcher.watch(
          communicationId,
          (batch) => {
            call.write({
              records: batch.records.map(toProto),
              counts: countsProto(batch.counts.status),
              total: batch.counts.total,
            });
          },
          call.request.since ?? new Date(),
        );
        if (call.cancelled) stop();
      };
      call.on('cancelled', () => stop?.());
      call.on('close', () => stop?.());
      start().catch(fail);
    },
  };
  server.addService(
    ReportingServiceService,
    protectGrpc(ReportingServiceService, impl, auth, logger, {
      listDeliveryRecords: 'viewer',
      watchDeliveryRecords: 'viewer',
      getDeliveryRecords: 'viewer',
    }),
  );
  return server;
}
