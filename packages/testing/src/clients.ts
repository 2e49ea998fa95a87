import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  CommunicationServiceClient,
  type AddRecipientsRequest,
  type AddRecipientsResponse,
  type CreateCommunicationRequest,
  type CreateCommunicationResponse,
  type GetCommunicationRequest,
  type GetCommunicationResponse,
  type SendCommunicationRequest,
  type SendCommunicationResponse,
} from '@dlr/contracts';

type Unary<Req, Res> = (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown;

/** A promise-returning client of `CommunicationService` (for tests, the demo and benchmarks). */
export interface CommunicationApi {
  create(req: CreateCommunicationRequest): Promise<CreateCommunicationResponse>;
  get(req: GetCommunicationRequest): Promise<GetCommunicationResponse>;
  addRecipients(req: AddRecipientsRequest): Promise<AddRecipientsResponse>;
  send(req: SendCommunicationRequest): Promise<SendCommunicationResponse>;
  close(): void;
}

/** Connects (lazily) to a `CommunicationService` at `host:port`; calls reject with the gRPC `ServiceError`. */
export function communicationClient(address: string): CommunicationApi {
  const client = new CommunicationServiceClient(address, credentials.createInsecure());
  const call =
    <Req, Res>(method: Unary<Req, Res>) =>
    (req: Req) =>
      new Promise<Res>((resolve, reject) => {
        method.call(client, req, new Metadata(), (e: ServiceError | null, r: Res) => (e ? reject(e) : resolve(r)));
      });
  return {
    create: call<CreateCommunicationRequest, CreateCommunicationResponse>(client.createCommunication.bind(client)),
    get: call<GetCommunicationRequest, GetCommunicationResponse>(client.getCommunication.bind(client)),
    addRecipients: call<AddRecipientsRequest, AddRecipientsResponse>(client.addRecipients.bind(client)),
    send: call<SendCommunicationRequest, SendCommunicationResponse>(client.sendCommunication.bind(client)),
    close: () => client.close(),
  };
}
