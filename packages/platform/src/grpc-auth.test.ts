import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ListDeliveryRecordsRequest,
  ReportingServiceClient,
  ReportingServiceService,
  WatchDeliveryRecordsRequest,
  type ListDeliveryRecordsResponse,
  type ReportingServiceServer,
} from '@dlr/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bearerInterceptor,
  GrpcAuth,
  grpcCallerOf,
  protectGrpc,
  type GrpcCaller,
  type GrpcRoles,
} from './grpc-auth.js';
import { createLogger } from './logger.js';
import { OperatorAuth } from './operator-auth.js';

const OPERATOR = 'operator-token-0123456789';
const SERVICE = 'service-token-0123456789-0123456789';
const VIEWER = 'viewer-token-0123456789';
const logger = createLogger('grpc-auth-test', 'silent');

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** A protected ReportingService on a free port; `seen` gets the caller of each call a handler ran for. */
async function serve(
  auth: GrpcAuth,
  throwing = false,
  roles: Partial<GrpcRoles<ReportingServiceServer>> = { listDeliveryRecords: 'viewer', watchDeliveryRecords: 'viewer' },
): Promise<{ client: (token?: string) => ReportingServiceClient; seen: GrpcCaller[] }> {
  const seen: GrpcCaller[] = [];
  const impl: ReportingServiceServer = {
    listDeliveryRecords: (call, callback) => {
      if (throwing) throw new Error('handler bug');
      seen.push(grpcCallerOf(call)!);
      callback(null, { records: [], counts: [], total: 7, nextPageToken: '', title: '' });
    },
    watchDeliveryRecords: (call) => {
      seen.push(grpcCallerOf(call)!);
      call.write({ records: [], counts: [], total: 7 });
      call.end();
    },
    getDeliveryRecords: (call, callback) => {
      seen.push(grpcCallerOf(call)!);
      callback(null, { records: [] });
    },
  };
  const server = new Server();
  server.addService(
    ReportingServiceService,
    protectGrpc(ReportingServiceService, impl, auth, logger, roles as GrpcRoles<ReportingServiceServer>),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const clients: ReportingServiceClient[] = [];
  stop = async () => {
    for (const c of clients) c.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  };
  return {
    seen,
    client: (token) => {
      const c = new ReportingServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), {
        interceptors: token === undefined ? [] : [bearerInterceptor(token)],
      });
      clients.push(c);
      return c;
    },
  };
}

function list(client: ReportingServiceClient): Promise<ListDeliveryRecordsResponse> {
  return new Promise((resolve, reject) =>
    client.listDeliveryRecords(ListDeliveryRecordsRequest.fromPartial({ communicationId: 'c1' }), (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  );
}

function watchError(client: ReportingServiceClient): Promise<ServiceError | 'ended'> {
  return new Promise((resolve) => {
    const stream = client.watchDeliveryRecords(WatchDeliveryRecordsRequest.fromPartial({ communicationId: 'c1' }));
    stream.on('data', () => undefined);
    stream.on('error', (e: ServiceError) => resolve(e));
    stream.on('end', () => resolve('ended'));
  });
}

describe('protectGrpc', () => {
  const auth = () => new GrpcAuth(new OperatorAuth({ tokens: { admin: OPERATOR, viewer: VIEWER } }), SERVICE);

  it('runs the handler for the operator token and for the service token, and says who called', async () => {
    const s = await serve(auth());
    expect((await list(s.client(OPERATOR))).total).toBe(7);
    expect((await list(s.client(SERVICE))).total).toBe(7);
    expect(await watchError(s.client(OPERATOR))).toBe('ended');
    expect(s.seen).toEqual([
      { subject: 'admin-token', role: 'admin', via: 'token' },
      { subject: 'service', role: 'viewer', via: 'service' },
      { subject: 'admin-token', role: 'admin', via: 'token' },
    ]);
  });

  it('refuses a call without a token, or with a wrong one, before the handler runs (unary and stream)', async () => {
    const s = await serve(auth());
    await expect(list(s.client())).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: 'send "authorization: Bearer <token>" in the call metadata',
    });
    await expect(list(s.client('not-the-token-0123456789'))).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: 'the token is not valid',
    });
    expect(await watchError(s.client())).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await watchError(s.client(`${SERVICE}x`))).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(s.seen).toEqual([]);
  });

  it("refuses PERMISSION_DENIED a role below the method's, and a method missing from the table", async () => {
    const s = await serve(auth(), false, { listDeliveryRecords: 'admin' });
    await expect(list(s.client(VIEWER))).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: 'listDeliveryRecords needs the admin role; you are signed in as viewer',
    });
    await expect(list(s.client(SERVICE))).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    expect((await list(s.client(OPERATOR))).total).toBe(7);
    expect(await watchError(s.client(OPERATOR))).toMatchObject({
      code: status.PERMISSION_DENIED,
      details: 'watchDeliveryRecords is not open to any role',
    });
    expect(s.seen).toEqual([{ subject: 'admin-token', role: 'admin', via: 'token' }]);
  });

  it('with nothing configured, refuses every call and says what to set', async () => {
    const s = await serve(new GrpcAuth(new OperatorAuth({}), undefined));
    await expect(list(s.client(OPERATOR))).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: 'gRPC sign-in is not configured (set SERVICE_TOKEN, an OPERATOR_*_TOKEN or OIDC_ISSUER_URL)',
    });
  });

  it('takes only the service token when no operator sign-in is configured', async () => {
    const s = await serve(new GrpcAuth(new OperatorAuth({}), SERVICE));
    expect((await list(s.client(SERVICE))).total).toBe(7);
    await expect(list(s.client(OPERATOR))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('ends the call INTERNAL when an authenticated handler throws before it answers', async () => {
    const s = await serve(auth(), true);
    await expect(list(s.client(OPERATOR))).rejects.toMatchObject({ code: status.INTERNAL, details: 'internal error' });
  });

  it('answers UNAVAILABLE, not UNAUTHENTICATED, while the OIDC issuer cannot be reached', async () => {
    const unreachable = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const operators = new OperatorAuth({
      oidc: { issuerUrl: 'https://idp.example.test', audience: 'dlr' },
      fetch: unreachable,
    });
    const s = await serve(new GrpcAuth(operators, SERVICE));
    // A JWT's shape (RS256, a kid): its keys must be fetched before it can be judged.
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = [part({ alg: 'RS256', kid: 'k1' }), part({ sub: 'lee' }), 'c2ln'].join('.');
    await expect(list(s.client(jwt))).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect((await list(s.client(SERVICE))).total).toBe(7);
  });
});
