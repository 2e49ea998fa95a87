// communication's gRPC port as an operator or Kubernetes sees it: reflection, health, and its own
// methods still behind a token.
import { startService, type RunningService } from '@dlr/platform';
import { describePublicGrpc, isolation } from '@dlr/testing';
import { afterAll, beforeAll } from 'vitest';
import { OPERATOR_TOKEN, serviceOptions } from './helpers.js';

let service: RunningService<unknown>;

beforeAll(async () => {
  service = await startService(serviceOptions(isolation('grpcpub'), { OPERATOR_TOKEN }));
});

afterAll(async () => {
  await service?.stop();
});

describePublicGrpc({
  service: 'dlr.communication.v1.CommunicationService',
  address: () => `127.0.0.1:${service.grpcPort}`,
  describes: /rpc CreateCommunication \( \.dlr\.communication\.v1\.CreateCommunicationRequest \)/,
  method: 'ListCommunications',
  request: '{}',
  token: OPERATOR_TOKEN,
});
