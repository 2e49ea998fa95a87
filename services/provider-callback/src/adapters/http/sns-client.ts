import { X509Certificate } from 'node:crypto';
import { UnavailableError } from '@dlr/platform';

/** How provider-callback reaches SNS over HTTPS: signing certificates and subscription confirmations. */
export interface SnsHttp {
  /** GETs the URL and resolves its body on a 2xx; throws otherwise. */
  get(url: URL): Promise<string>;
}

const MAX_BODY = 64 * 1024;

/** {@link SnsHttp} with the global fetch: no redirects, a timeout, a size limit. */
export function fetchSnsHttp(timeoutMs = 5_000): SnsHttp {
  return {
    get: async (url) => {
      const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      if (text.length > MAX_BODY) throw new Error('response too large');
      return text;
    },
  };
}

/**
 * Signing certificates by URL, fetched once through an {@link SnsHttp} and kept (up to `max`,
 * oldest dropped first). A fetch failure is not cached and throws an UnavailableError (503: SNS
 * retries); a body that is no certificate resolves to undefined (the signature cannot verify).
 */
export class CertificateCache {
  readonly #http: SnsHttp;
  readonly #max: number;
  readonly #entries = new Map<string, Promise<X509Certificate | undefined>>();

  constructor(http: SnsHttp, max = 32) {
    this.#http = http;
    this.#max = max;
  }

  /** The certificate at `url`. */
  get(url: URL): Promise<X509Certificate | undefined> {
    const key = url.href;
    const cached = this.#entries.get(key);
    if (cached) return cached;
    const pending = this.#http.get(url).then(
      (pem) => {
        try {
          return new X509Certificate(pem);
        } catch {
          return undefined;
        }
      },
      (error: unknown) => {
        this.#entries.delete(key);
        throw new UnavailableError('could not fetch the SNS signing certificate; retry later', error);
      },
    );
    this.#entries.set(key, pending);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return pending;
  }
}
