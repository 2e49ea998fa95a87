import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  GetDeliveryRecordsRequest,
  ListDeliveryRecordsRequest,
  ReportingServiceClient,
  type GetDeliveryRecordsResponse,
  type ListDeliveryRecordsResponse,
} from '@dlr/contracts';
import { bearerInterceptor, traceMetadata, UnavailableError } from '@dlr/platform';
import { STATUSES, statusFromProto, type StatusKey } from '@dlr/status-engine';
import type { DeliveryStatusSource } from '../../domain/ports.js';
import type { DeliveryRecordLookup } from '../../domain/history.js';

/**
 * {@link DeliveryStatusSource} over reporting's gRPC `ListDeliveryRecords`, 1 000 records a page, and
 * {@link DeliveryRecordLookup} over `GetDeliveryRecords` (500 IDs a call).
 */
export class ReportingStatuses implements DeliveryStatusSource, DeliveryRecordLookup {
  private readonly client: ReportingServiceClient;

  /** `serviceToken`: the SERVICE_TOKEN reporting's gRPC accepts from our services. */
  constructor(
    address: string,
    serviceToken: string,
    private readonly deadlineMs = 30_000,
  ) {
    this.client = new ReportingServiceClient(address, credentials.createInsecure(), {
      interceptors: [bearerInterceptor(serviceToken)],
    });
  }

  async *statuses(
    communicationId: string,
    only: readonly StatusKey[],
    onTotal?: (total: number) => void,
  ): AsyncIterable<{ deliveryId: string; status: StatusKey }> {
    const statuses = only.map((s) => STATUSES[s].proto);
    let pageToken = '';
    do {
      const page = await this.page(
        ListDeliveryRecordsRequest.fromPartial({ communicationId, pageSize: 1_000, pageToken, statuses }),
      );
      if (pageToken === '' && onTotal) {
        const wanted = new Set(statuses);
        onTotal(page.counts.filter((c) => wanted.has(c.status)).reduce((n, c) => n + c.count, 0));
      }
      for (const r of page.records) {
        const status = statusFromProto(r.status);
        if (status !== undefined) yield { deliveryId: r.id, status };
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }

  async records(ids: readonly string[]): Promise<ReadonlyMap<string, { status: StatusKey; response: string }>> {
    const out = new Map<string, { status: StatusKey; response: string }>();
    for (let from = 0; from < ids.length; from += 500) {
      const request = GetDeliveryRecordsRequest.fromPartial({ ids: ids.slice(from, from + 500) });
      const response = await new Promise<GetDeliveryRecordsResponse>((resolve, reject) => {
        this.client.getDeliveryRecords(
          request,
          traceMetadata(),
          { deadline: Date.now() + this.deadlineMs },
          (error: ServiceError | null, r: GetDeliveryRecordsResponse) => {
            if (!error) resolve(r);
            else
              reject(
                new UnavailableError(
                  `the reporting service could not read the delivery records (${grpcStatus[error.code] ?? error.code})`,
                  error,
                ),
              );
          },
        );
      });
      for (const r of response.records) {
        const status = statusFromProto(r.status);
        if (status !== undefined) out.set(r.id, { status, response: r.response });
      }
    }
    return out;
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }

  private page(request: ListDeliveryRecordsRequest): Promise<ListDeliveryRecordsResponse> {
    return new Promise((resolve, reject) => {
      this.client.listDeliveryRecords(
        request,
        traceMetadata(),
        { deadline: Date.now() + this.deadlineMs },
        (error: ServiceError | null, response: ListDeliveryRecordsResponse) => {
          if (!error) resolve(response);
          else
            reject(
              new UnavailableError(
                `the reporting service could not list the delivery records (${grpcStatus[error.code] ?? error.code})`,
                error,
              ),
            );
        },
      );
    });
  }
}
