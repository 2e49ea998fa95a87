import { Agent, request } from 'undici';
import { ProviderRejectedError, ProviderUnavailableError } from '../../domain/provider.js';

/** Longest provider text kept on a Not Sent record. */
export const MAX_PROVIDER_TEXT = 500;

/** A provider's answer over HTTP. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** What a provider call sends: a method, headers and a body (a string, or a form the adapter built). */
export interface ProviderRequest {
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | URLSearchParams | FormData;
}

/**
 * Keep-alive connections shared by every adapter. undici's `request` rather than `fetch`: the same
 * client without the WHATWG request and stream objects, which cost more CPU per call than the call.
 */
const providerAgent = new Agent({ keepAliveTimeout: 10_000, connections: 512 });

/**
 * Sends one HTTP request to a provider and reads the whole answer. Network errors and timeouts
 * become {@link ProviderUnavailableError}; any HTTP status is returned for the adapter to judge.
 */
export async function callProvider(url: string, init: ProviderRequest, timeoutMs: number): Promise<HttpAnswer> {
  try {
    const { body, contentType } = await encodeBody(init.body);
    const headers = contentType === undefined ? { ...init.headers } : { 'content-type': contentType, ...init.headers };
    const response = await request(url, {
      method: init.method as 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher: providerAgent,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: headersOf(response.headers), text };
  } catch (error) {
    throw unreachable(error, timeoutMs);
  }
}

/** A form as the bytes and media type fetch would send (multipart with its boundary, or urlencoded). */
async function encodeBody(
  body: ProviderRequest['body'],
): Promise<{ body: string | Buffer | undefined; contentType?: string }> {
  if (body === undefined || typeof body === 'string') return { body };
  const encoded = new Request('http://form.invalid/', { method: 'POST', body });
  return {
    body: Buffer.from(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type') ?? undefined,
  };
}

function headersOf(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/** The {@link ProviderUnavailableError} of a call that got no answer (timeout or network error). */
export function unreachable(error: unknown, timeoutMs: number): ProviderUnavailableError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ProviderUnavailableError('timeout', `the provider did not answer within ${timeoutMs} ms`, {
      cause: error,
    });
  }
  const code = networkCode(error);
  return new ProviderUnavailableError(
    'network',
    `the provider could not be reached${code === undefined ? '' : ` (${code})`}`,
    { cause: error },
  );
}

function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Judges a non-2xx answer: 408, 429 and 5xx → {@link ProviderUnavailableError} (with Retry-After when
 * given); any other → {@link ProviderRejectedError} with the provider's code and words.
 */
export function failure(
  answer: HttpAnswer,
  code: string,
  words: string,
): ProviderRejectedError | ProviderUnavailableError {
  const text = truncate(words.trim() || `HTTP ${answer.status}`);
  if (isTransient(answer.status)) {
    const retryAfterMs = retryAfter(answer.headers.get('retry-after'));
    return new ProviderUnavailableError(
      `http_${answer.status}`,
      `the provider answered HTTP ${answer.status}: ${text}`,
      retryAfterMs === undefined ? undefined : { retryAfterMs },
    );
  }
  return new ProviderRejectedError(code, text);
}

/** True for the HTTP statuses that mean "try again later". */
export function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Milliseconds of a Retry-After header (seconds or an HTTP date), capped at 60 s; undefined when absent or bad. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(60_000, Math.max(0, ms));
}

/** The text cut to {@link MAX_PROVIDER_TEXT} characters. */
export function truncate(text: string, max = MAX_PROVIDER_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The JSON object of a body, or undefined when it is not one. */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `Basic base64(user:password)`. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** The timeout of one call: the adapter's own, shortened by the caller's. */
export function callTimeout(ownMs: number, callerMs: number | undefined): number {
  return Math.max(1, Math.min(ownMs, callerMs ?? Infinity));
}

/** A message ID without its angle brackets (`<id@host>` → `id@host`). */
export function bareMessageId(id: string): string {
  return id.trim().replace(/^<(.*)>$/, '$1');
}

/** A mailbox as "Name <address>" or a bare address, split. */
export interface Mailbox {
  readonly address: string;
  readonly name?: string;
}

const BARE = /^[^\s<>@",]+@[^\s<>@",]+$/;
const NAMED = /^\s*(?:"([^"]*)"|([^"<>]*?))\s*<([^\s<>@",]+@[^\s<>@",]+)>\s*$/;

/** Parses "Name <a@b>", "\"Name\" <a@b>" or "a@b"; undefined when it is none of them. */
export function parseMailbox(value: string): Mailbox | undefined {
  const trimmed = value.trim();
  if (BARE.test(trimmed)) return { address: trimmed };
  const match = NAMED.exec(trimmed);
  if (!match) return undefined;
  const name = (match[1] ?? match[2] ?? '').trim();
  return name === '' ? { address: match[3]! } : { address: match[3]!, name };
}
