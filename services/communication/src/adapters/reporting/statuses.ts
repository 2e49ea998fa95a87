import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  DeliveryStatus,
  ListDeliveryRecordsRequest,
  ReportingServiceClient,
  type ListDeliveryRecordsResponse,
} from '@dlr/contracts';
import { bearerInterceptor, traceMetadata, UnavailableError } from '@dlr/platform';
import type { DeliveryStatusSource } from '../../domain/ports.js';
import type { RecordStatus } from '../../domain/preview.js';

const STATUS: Partial<Record<DeliveryStatus, RecordStatus>> = {
  [DeliveryStatus.DELIVERY_STATUS_PENDING]: 'pending',
  [DeliveryStatus.DELIVERY_STATUS_SENT]: 'sent',
  [DeliveryStatus.DELIVERY_STATUS_NOT_SENT]: 'not_sent',
  [DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY]: 'bounced_temporarily',
  [DeliveryStatus.DELIVERY_STATUS_DELIVERED]: 'delivered',
  [DeliveryStatus.DELIVERY_STATUS_READ]: 'read',
  [DeliveryStatus.DELIVERY_STATUS_FAILED]: 'failed',
  [DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED]: 'acknowledged',
  [DeliveryStatus.DELIVERY_STATUS_RESPONDED]: 'responded',
  [DeliveryStatus.DELIVERY_STATUS_OPTED_OUT]: 'opted_out',
};

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
    only: readonly RecordStatus[],
  ): AsyncIterable<{ deliveryId: string; status: RecordStatus }> {
    const wanted = new Set(only);
    const statuses = Object.entries(STATUS)
      .filter(([, name]) => wanted.has(name))
      .map(([value]) => Number(value) as DeliveryStatus);
    let pageToken = '';
    do {
      const page = await this.page(
        ListDeliveryRecordsRequest.fromPartial({ communicationId, pageSize: 1_000, pageToken, statuses }),
      );
      for (const r of page.records) {
        const status = STATUS[r.status];
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
