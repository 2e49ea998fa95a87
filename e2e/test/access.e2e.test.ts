// The route walker: starts the five services in this process on real NATS and MongoDB, takes every
// HTTP route and gRPC method from their servers (not from a list here, so a route added later is
// walked too) and proves each non-public one refuses a caller without credentials, whatever the
// spelling of its path. Raw paths go out through node:http, which does not normalise them.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as communication from '@dlr/communication';
import * as dispatch from '@dlr/dispatch';
import * as feedbackLink from '@dlr/feedback-link';
import * as providerCallback from '@dlr/provider-callback';
import * as reporting from '@dlr/reporting';
import { allows, PUBLIC_GRPC_SERVICES, ROLES, startService, type Role, type RunningService } from '@dlr/platform';
import { isolation } from '@dlr/testing';

const secret = () => randomBytes(24).toString('base64url');
const SERVICE_TOKEN = secret();

/** The static token of each role, by service. */
const tokens = new Map<string, Record<Role, string>>();

function env(name: string, extra: Record<string, string>): Record<string, string> {
  const { NATS_URL, MONGODB_URI } = process.env;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  const where = isolation(`acc${name.slice(0, 4)}`);
  const roleTokens = { viewer: secret(), sender: secret(), admin: secret() };
  tokens.set(name, roleTokens);
  return {
    NATS_URL,
    MONGODB_URI,
    MONGODB_DB: where.db,
    NATS_NAMESPACE: where.namespace,
    HOST: '127.0.0.1',
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    OPERATOR_ADMIN_TOKEN: roleTokens.admin,
    OPERATOR_VIEWER_TOKEN: roleTokens.viewer,
    OPERATOR_SENDER_TOKEN: roleTokens.sender,
    ...extra,
  };
}

const running: { name: string; service: RunningService<unknown> }[] = [];

beforeAll(async () => {
  const linkKeys = `k1:${secret()}`;
  const keep = async (name: string, started: Promise<RunningService<unknown>>) => {
    running.push({ name, service: await started });
  };
  await keep(
    'communication',
    startService({
      name: 'communication',
      shape: communication.configShape,
      migrate: communication.migrate,
      build: communication.buildApp,
      grpcPortKey: 'GRPC_PORT',
      env: env('communication', { GRPC_PORT: '0' }),
    }),
  );
  await keep(
    'reporting',
    startService({
      name: 'reporting',
      shape: reporting.configShape,
      migrate: reporting.migrate,
      build: reporting.buildApp,
      grpcPortKey: 'GRPC_PORT',
      env: env('reporting', { GRPC_PORT: '0', SERVICE_TOKEN }),
    }),
  );
  await keep(
    'feedback-link',
    startService({
      name: 'feedback-link',
      shape: feedbackLink.configShape,
      migrate: feedbackLink.migrate,
      build: feedbackLink.buildApp,
      env: env('feedbacklink', { LINK_SIGNING_KEYS: linkKeys }),
    }),
  );
  await keep(
    'provider-callback',
    startService({
      name: 'provider-callback',
      shape: providerCallback.configShape,
      migrate: providerCallback.migrate,
      build: providerCallback.buildApp,
      env: env('providercallback', {
        SIMULATOR_WEBHOOK_SECRET: secret(),
        MAILGUN_WEBHOOK_SIGNING_KEY: secret(),
        TWILIO_AUTH_TOKEN: secret(),
        CALLBACK_PUBLIC_BASE_URL: 'https://callbacks.example.org',
      }),
    }),
  );
  await keep(
    'dispatch',
    startService({
      name: 'dispatch',
      shape: dispatch.configShape,
      migrate: dispatch.migrate,
      build: dispatch.buildApp,
      env: env('dispatch', {
        SIMULATOR_URL: 'http://127.0.0.1:9',
        SIMULATOR_API_KEY: secret(),
        PROVIDER_CALLBACK_URL: 'http://127.0.0.1:9',
        FEEDBACK_BASE_URL: 'http://127.0.0.1:9',
        LINK_SIGNING_KEYS: linkKeys,
      }),
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const { service } of running.splice(0).reverse()) await service.stop();
});

/** A concrete path for a route pattern: `:param` and `*` filled in. */
function samplePath(pattern: string): string {
  return pattern.replace(/:[A-Za-z0-9_]+/g, 'x1').replace(/\*/g, 'abc');
}

/** The spellings a router or a hand check might read differently from the canonical path. */
function spellings(path: string): string[] {
  const letter = /[a-z]/i.exec(path);
  const out = new Set<string>([
    path,
    path.toUpperCase(),
    `/${path}`,
    `${path}/`,
    `${path}//`,
    path.replace(/\/(?=[^/]*$)/, '//'),
    `/.${path}`,
    `/x/..${path}`,
    `/%2e${path}`,
    path.replace(/\//g, '/./'),
  ]);
  if (letter) {
    const hex = letter[0].charCodeAt(0).toString(16);
    for (const encoded of [`%${hex}`, `%${hex.toUpperCase()}`]) {
      out.add(`${path.slice(0, letter.index)}${encoded}${path.slice(letter.index + 1)}`);
    }
    // Every letter encoded.
    out.add(path.replace(/[a-z]/gi, (c) => `%${c.charCodeAt(0).toString(16)}`));
  }
  return [...out];
}

/** Sends `method rawPath` exactly as written; resolves with the status and the Location header. */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; location: string | undefined }> {
  const url = new URL(base);
  let answered = false;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { accept: 'application/json', ...headers },
        timeout: 10_000,
      },
      (res) => {
        // The status line is the answer; a live (SSE) stream would never end, so stop reading.
        answered = true;
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        res.destroy();
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (method !== 'GET' && method !== 'HEAD') req.end('{}');
    else req.end();
  });
}

// 405: the spelling matched a path only under another method (refused before any handler).
const REFUSED = new Set([401, 403, 404, 405]);

describe('every non-public HTTP route of the five services', () => {
  it('refuses a caller without credentials, whatever the spelling of its path', async () => {
    const failures: string[] = [];
    let walked = 0;
    for (const { name, service } of running) {
      for (const route of service.routes) {
        if (route.access === 'public') continue;
        for (const method of route.methods) {
          const path = samplePath(route.url);
          // The canonical spelling reaches the route and is refused as unauthenticated.
          const canonical = await raw(service.httpUrl, method, path);
          if (canonical.status !== 401) failures.push(`${name} ${method} ${path} → ${canonical.status}, not 401`);
          for (const spelled of spellings(path)) {
            walked += 1;
            const { status: code, location } = await raw(service.httpUrl, method, spelled);
            const toSignIn = code === 303 && location?.startsWith('/sign-in');
            if (!REFUSED.has(code) && !toSignIn) failures.push(`${name} ${method} ${spelled} → ${code}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // The walk is not vacuous: the console and the reports have many protected routes.
    expect(walked).toBeGreaterThan(100);
  });

  it("gives each role exactly the routes its role reaches: 403 below the route's role, through above it", async () => {
    const failures: string[] = [];
    for (const { name, service } of running) {
      const roleTokens = tokens.get(name)!;
      for (const route of service.routes) {
        if (route.access === 'public') continue;
        for (const method of route.methods) {
          for (const role of ROLES) {
            const path = samplePath(route.url);
            const { status: code } = await raw(service.httpUrl, method, path, {
              authorization: `Bearer ${roleTokens[role]}`,
            });
            const expected = allows(role, route.access) ? 'not 401/403' : '403';
            const ok = allows(role, route.access) ? code !== 401 && code !== 403 : code === 403;
            if (!ok) failures.push(`${name} ${method} ${path} as ${role} → ${code}, expected ${expected}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('declares every route, and the protected ones include the console and the reports', () => {
    const protectedRoutes = running.flatMap(({ name, service }) =>
      service.routes.filter((r) => r.access !== 'public').map((r) => `${name} ${r.url}`),
    );
    expect(protectedRoutes).toEqual(
      expect.arrayContaining([
        'communication /console',
        'communication /console/communications/:id/override',
        'reporting /communications/:id',
      ]),
    );
  });
});

function callWithoutToken(address: string, method: { path: string; responseStream: boolean }): Promise<status> {
  const client = new Client(address, credentials.createInsecure());
  const same = (b: Buffer) => b;
  const deadline = Date.now() + 10_000;
  return new Promise<status>((resolve) => {
    const done = (code: status) => {
      client.close();
      resolve(code);
    };
    if (method.responseStream) {
      const stream = client.makeServerStreamRequest(method.path, same, same, Buffer.alloc(0), new Metadata(), {
        deadline,
      });
      stream.on('data', () => undefined);
      stream.on('error', (e: ServiceError) => done(e.code));
      stream.on('end', () => done(status.OK));
    } else {
      client.makeUnaryRequest(method.path, same, same, Buffer.alloc(0), new Metadata(), { deadline }, (e) =>
        done(e ? e.code : status.OK),
      );
    }
  });
}

describe('every non-public gRPC method of the servers', () => {
  it('refuses a call without credentials, and a mis-spelt path finds no method', async () => {
    const failures: string[] = [];
    let walked = 0;
    for (const { name, service } of running) {
      if (service.grpcPort === undefined) continue;
      const address = `127.0.0.1:${service.grpcPort}`;
      for (const method of service.grpcMethods) {
        const serviceName = method.path.split('/')[1] ?? '';
        if (PUBLIC_GRPC_SERVICES.includes(serviceName)) continue;
        walked += 1;
        const code = await callWithoutToken(address, method);
        if (code !== status.UNAUTHENTICATED) failures.push(`${name} ${method.path} → ${status[code]}`);
        for (const spelled of [method.path.toLowerCase(), method.path.toUpperCase(), `${method.path}/`]) {
          const other = await callWithoutToken(address, { ...method, path: spelled });
          if (other !== status.UNAUTHENTICATED && other !== status.UNIMPLEMENTED) {
            failures.push(`${name} ${spelled} → ${status[other]}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(walked).toBeGreaterThanOrEqual(12); // CommunicationService (10) and ReportingService (2)
  });
});
