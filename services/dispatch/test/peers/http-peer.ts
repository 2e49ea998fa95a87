// The shared part of the local HTTP provider peers: a fastify server that keeps every request it
// got (raw body, headers, time) and answers from the provider-specific handler, unless a test
// scripted the next answers (`failNext`) or an outage (`failAll`).
import Fastify, { type FastifyInstance } from 'fastify';

/** One request a peer received. */
export interface Received {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** performance.timeOrigin + performance.now() at arrival, ms. */
  readonly at: number;
}

/** An answer of a peer. */
export interface Answer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Objects are sent as JSON. */
  readonly body?: string | object;
}

/** A running peer. */
export interface HttpPeer {
  readonly url: string;
  readonly received: Received[];
  /** Answers the next requests with these, in order, before going back to normal. */
  failNext(...answers: Answer[]): void;
  /** Answers every request with this until called with undefined. */
  failAll(answer: Answer | undefined): void;
  stop(): Promise<void>;
}

/** Starts a peer on 127.0.0.1 (free port) whose normal answers come from `handle`. */
export async function startHttpPeer(handle: (request: Received) => Answer | Promise<Answer>): Promise<HttpPeer> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  // Keep every body raw: each peer parses its provider's format itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const received: Received[] = [];
  const scripted: Answer[] = [];
  let outage: Answer | undefined;
  app.all('/*', async (request, reply) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string') headers[name] = value;
      else if (Array.isArray(value)) headers[name] = value.join(', ');
    }
    const entry: Received = {
      method: request.method,
      url: request.url,
      headers,
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
      at: performance.timeOrigin + performance.now(),
    };
    received.push(entry);
    const answer = scripted.shift() ?? outage ?? (await handle(entry));
    reply.code(answer.status);
    for (const [name, value] of Object.entries(answer.headers ?? {})) reply.header(name, value);
    if (answer.body === undefined) return reply.send();
    if (typeof answer.body === 'string') return reply.send(answer.body);
    return reply.type('application/json').send(JSON.stringify(answer.body));
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    received,
    failNext: (...answers) => scripted.push(...answers),
    failAll: (answer) => {
      outage = answer;
    },
    stop: () => app.close(),
  };
}

/** The user and password of a Basic Authorization header, or undefined. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Parses a multipart/form-data or urlencoded body the way a server would (WHATWG FormData). */
export async function formFields(request: Received): Promise<[string, string][]> {
  const form = await new Response(request.body, {
    headers: { 'content-type': request.headers['content-type'] ?? '' },
  }).formData();
  const fields: [string, string][] = [];
  form.forEach((value, name) => fields.push([name, typeof value === 'string' ? value : '(file)']));
  return fields;
}
