// The one HTTP client of the benchmark (undici connection pools with keep-alive), used for the
// webhook posts, the report reads and the bare-fastify ceiling alike, so their figures compare.
import { Pool } from 'undici';

/** Connections per origin: enough that the client is not where posts queue. */
export const CONNECTIONS = 128;

/** What came back: the HTTP status (0 for a network error) and the body text. */
export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/** A keep-alive client of one origin (`http://host:port`). */
export class HttpClient {
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;

  /** `timeoutMs`: longest wait for an answer's headers (then status 0); `headers` go on every GET. */
  constructor(
    origin: string,
    options: { connections?: number; timeoutMs?: number; headers?: Record<string, string> } = {},
  ) {
    const timeout = options.timeoutMs ?? 30_000;
    this.#headers = options.headers ?? {};
    this.#pool = new Pool(origin, {
      connections: options.connections ?? CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
  }

  /** POSTs a body; never throws (a network error, timeout or abort is status 0). */
  async post(path: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<HttpResponse> {
    return this.#send('POST', path, headers, body, signal);
  }

  /** GETs a path; never throws (a network error, timeout or abort is status 0). */
  async get(path: string, signal?: AbortSignal): Promise<HttpResponse> {
    return this.#send('GET', path, this.#headers, undefined, signal);
  }

  /** GETs JSON; throws unless the answer is 200. */
  async getJson<T>(path: string): Promise<T> {
    const res = await this.get(path);
    if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body) as T;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    try {
      const res = await this.#pool.request({ method, path, headers, body, signal });
      return { status: res.statusCode, body: await res.body.text() };
    } catch (error) {
      return { status: 0, body: error instanceof Error ? error.message : String(error) };
    }
  }
}
