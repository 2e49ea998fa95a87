// gRPC `dlr.reporting.v1.ReportingService`: the same data as the REST list.
import {
  DeliveryRecord,
  ReportingServiceService,
  type ListDeliveryRecordsRequest,
  type ListDeliveryRecordsResponse,
  type ReportingServiceServer,
  channelOf,
} from '@dlr/contracts';
import { unary, type Logger } from '@dlr/platform';
import { STATUS_KEYS, STATUSES } from '@dlr/status-engine';
import { Server } from '@grpc/grpc-js';
import { parseLimit, type DeliveryRecordView, type ReportQueries } from '../../queries.js';

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

/** Builds the (not yet listening) gRPC server. */
export function buildGrpcServer(queries: ReportQueries, logger: Logger): Server {
  const server = new Server();
  const impl: ReportingServiceServer = {
    listDeliveryRecords: unary<ListDeliveryRecordsRequest, ListDeliveryRecordsResponse>(
      logger,
      'ListDeliveryRecords',
      async (request) => {
        const page = await queries.list({
          communicationId: request.communicationId,
          limit: parseLimit(request.pageSize),
          cursor: request.pageToken,
        });
        return {
          records: page.records.map(toProto),
          counts: STATUS_KEYS.map((k) => ({ status: STATUSES[k].proto, count: page.counts[k] })),
          total: page.total,
          nextPageToken: page.nextCursor ?? '',
        };
      },
    ),
  };
  server.addService(ReportingServiceService, impl);
  return server;
}
