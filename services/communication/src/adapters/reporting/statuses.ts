import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ListDeliveryRecordsRequest, ReportingServiceClient, type ListDeliveryRecordsResponse } from '@dlr/contracts';
import { bearerInterceptor, traceMetadata, UnavailableError } from '@dlr/platform';
import { STATUSES, statusFromProto, type StatusKey } from '@dlr/status-engine';
import type { DeliveryStatusSource } from '../../domain/ports.js';

/** {@link DeliveryStatusSource} over reporting's gRPC `ListDeliveryRecords`, 1 000 records a page. */
export class ReportingStatuses implements DeliveryStatusSource {
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
