import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  AddRecipientsRequest,
  CommunicationServiceClient,
  type AddRecipientsResponse,
  CreateCommunicationRequest,
  type CreateCommunicationResponse,
  type GetCommunicationRequest,
  type GetCommunicationResponse,
  PreviewDeliveryRequest,
  type PreviewDeliveryResponse,
  type RecipientInput,
  type ResendCommunicationRequest,
  type ResendCommunicationResponse,
  type SendCommunicationRequest,
  type SendCommunicationResponse,
} from '@dlr/contracts';

type Unary<Req, Res> = (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown;

/** A promise-returning client of `CommunicationService` (for tests, the demo and benchmarks). */
export interface CommunicationApi {
  /** `templateId` may be left out (none). */
  create(req: Partial<CreateCommunicationRequest>): Promise<CreateCommunicationResponse>;
  get(req: GetCommunicationRequest): Promise<GetCommunicationResponse>;
  /** A recipient's `optedOutChannels` and `fields` may be left out (none). */
  addRecipients(req: {
    communicationId: string;
    recipients: (Omit<RecipientInput, 'optedOutChannels' | 'fields'> &
      Partial<Pick<RecipientInput, 'optedOutChannels' | 'fields'>>)[];
  }): Promise<AddRecipientsResponse>;
  send(req: SendCommunicationRequest): Promise<SendCommunicationResponse>;
  preview(req: Partial<PreviewDeliveryRequest>): Promise<PreviewDeliveryResponse>;
  resend(req: ResendCommunicationRequest): Promise<ResendCommunicationResponse>;
  close(): void;
}

/**
 * Connects (lazily) to a `CommunicationService` at `host:port`, sending `token` (an operator's, or
 * SERVICE_TOKEN) with every call; calls reject with the gRPC `ServiceError`.
 */
export function communicationClient(address: string, token: string): CommunicationApi {
  const client = new CommunicationServiceClient(address, credentials.createInsecure());
  const metadata = (): Metadata => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };
  const call =
    <Req, Res>(method: Unary<Req, Res>) =>
    (req: Req) =>
      new Promise<Res>((resolve, reject) => {
        method.call(client, req, metadata(), (e: ServiceError | null, r: Res) => (e ? reject(e) : resolve(r)));
      });
  return {
    create: (req) =>
      call<CreateCommunicationRequest, CreateCommunicationResponse>(client.createCommunication.bind(client))(
        CreateCommunicationRequest.fromPartial(req),
      ),
    get: call<GetCommunicationRequest, GetCommunicationResponse>(client.getCommunication.bind(client)),
    addRecipients: (req) =>
      call<AddRecipientsRequest, AddRecipientsResponse>(client.addRecipients.bind(client))(
        AddRecipientsRequest.fromPartial(req),
      ),
    send: call<SendCommunicationRequest, SendCommunicationResponse>(client.sendCommunication.bind(client)),
    preview: (req) =>
      call<PreviewDeliveryRequest, PreviewDeliveryResponse>(client.previewDelivery.bind(client))(
        PreviewDeliveryRequest.fromPartial(req),
      ),
    resend: call<ResendCommunicationRequest, ResendCommunicationResponse>(client.resendCommunication.bind(client)),
    close: () => client.close(),
  };
}
