// The checks of a gRPC port as an operator or Kubernetes sees it without .proto files and without
// credentials, shared by the services that serve gRPC (communication, reporting).
import { beforeAll, describe, expect, it } from 'vitest';
import { grpcurl } from './grpcurl.js';
import { ensureGrpcurl } from './infra/tools.js';

/** What {@link describePublicGrpc} needs to know of one service's gRPC port. */
export interface PublicGrpcCase {
  /** E.g. `dlr.reporting.v1.ReportingService`. */
  readonly service: string;
  /** `host:port` of the running server (read when the tests run). */
  readonly address: () => string;
  /** A line `grpcurl describe <service>` prints, e.g. `rpc ListDeliveryRecords ( .dlr…Request )`. */
  readonly describes: RegExp;
  /** A method of the service and a request it takes (JSON). */
  readonly method: string;
  readonly request: string;
  /** A token the service accepts. */
  readonly token: string;
}

/**
 * Registers the tests: reflection lists exactly the service and health and describes the service;
 * `grpc.health.v1.Health/Check` answers SERVING for the server and the service; the service's own
 * method refuses a call without a token and takes one with `token`.
 */
export function describePublicGrpc(c: PublicGrpcCase): void {
  describe(`${c.service}'s gRPC port, with grpcurl and no .proto files`, () => {
    // The first run on a machine builds grpcurl (about a minute): outside any test's timeout.
    beforeAll(() => ensureGrpcurl(), 600_000);
    it('lists its services by reflection and describes them', async () => {
      const list = await grpcurl([c.address(), 'list']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout.trim().split('\n').sort()).toEqual([c.service, 'grpc.health.v1.Health'].sort());
      const described = await grpcurl([c.address(), 'describe', c.service]);
      expect(described.code, described.stderr).toBe(0);
      expect(described.stdout).toMatch(c.describes);
    });

    it('answers grpc.health.v1.Health/Check SERVING, for the server and for its service', async () => {
      for (const service of ['', c.service]) {
        const check = await grpcurl(['-d', JSON.stringify({ service }), c.address(), 'grpc.health.v1.Health/Check']);
        expect(check.code, check.stderr).toBe(0);
        expect(JSON.parse(check.stdout)).toEqual({ status: 'SERVING' });
      }
    });

    it('still refuses a call of the service without a token, and takes one with a token', async () => {
      const method = `${c.service}/${c.method}`;
      const refused = await grpcurl(['-d', c.request, c.address(), method]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/Code: Unauthenticated/);
      const allowed = await grpcurl(['-H', `authorization: Bearer ${c.token}`, '-d', c.request, c.address(), method]);
      expect(allowed.stderr).not.toMatch(/Unauthenticated/);
    });
  });
}
