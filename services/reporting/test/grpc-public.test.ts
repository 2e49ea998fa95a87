// reporting's gRPC port as an operator or Kubernetes sees it: reflection, health, and its own
// methods still behind a token.
import { describePublicGrpc } from '@dlr/testing';
import { afterAll, beforeAll } from 'vitest';
import { startReporting, TEST_OPERATOR_TOKEN, type Harness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startReporting();
});

afterAll(async () => {
  await h?.stop();
});

describePublicGrpc({
  service: 'dlr.reporting.v1.ReportingService',
  address: () => `127.0.0.1:${h.grpcPort}`,
  describes: /rpc WatchDeliveryRecords \( \.dlr\.reporting\.v1\.WatchDeliveryRecordsRequest \) returns \( stream/,
  method: 'ListDeliveryRecords',
  request: JSON.stringify({ communication_id: 'c_none' }),
  token: TEST_OPERATOR_TOKEN,
});
