// A local Amazon SES API v2 peer: SendEmail (POST /v2/email/outbound-emails, JSON) as documented,
// requests authenticated with Signature Version 4 — the signature is recomputed here from the
// known test secret and must match. Errors use the restJson format: x-amzn-ErrorType + {"message"}.
// Recipients decide: "reject@…" → 400 MessageRejected; anything else → 200 {"MessageId"}.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { startHttpPeer, type Answer, type HttpPeer, type Received } from './http-peer.js';

/** The credentials the peer accepts. */
export interface SesPeerOptions {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

function error(status: number, type: string, message: string): Answer {
  return { status, headers: { 'x-amzn-errortype': `${type}:` }, body: { message } };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** Why the SigV4 signature of a request is wrong, or undefined when it verifies. */
export function sigV4Problem(request: Received, options: SesPeerOptions): string | undefined {
  const auth =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      request.headers['authorization'] ?? '',
    );
  if (!auth) return 'no SigV4 Authorization header';
  const [, keyId, date, region, service, signedHeaders, signature] = auth as unknown as string[];
  if (keyId !== options.accessKeyId) return 'unknown access key';
  if (region !== options.region || service !== 'ses') return 'wrong credential scope';
  const amzDate = request.headers['x-amz-date'] ?? '';
  if (!amzDate.startsWith(date!)) return 'X-Amz-Date does not match the credential date';
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const [path, query = ''] = request.url.split('?') as [string, string?];
  const canonicalQuery = query
    .split('&')
    .filter((p) => p !== '')
    .sort()
    .join('&');
  const canonicalHeaders = names
    .map((n) => `${n}:${(request.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = request.headers['x-amz-content-sha256'] ?? sha256(request.body);
  if (payloadHash !== sha256(request.body)) return 'payload hash mismatch';
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join(
    '\n',
  );
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${options.secretAccessKey}`, date!), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? undefined : 'signature mismatch';
}

/** Starts the SES peer. */
export function startSesPeer(options: SesPeerOptions): Promise<HttpPeer> {
  return startHttpPeer((request) => {
    if (request.method !== 'POST' || request.url !== '/v2/email/outbound-emails') {
      return error(404, 'NotFoundException', 'The resource you attempted to access does not exist.');
    }
    const problem = sigV4Problem(request, options);
    if (problem !== undefined) {
      return error(403, 'SignatureDoesNotMatch', `The request signature we calculated does not match (${problem}).`);
    }
    let body: {
      FromEmailAddress?: string;
      Destination?: { ToAddresses?: string[] };
      Content?: { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string } } } };
    };
    try {
      body = JSON.parse(request.body.toString('utf8')) as typeof body;
    } catch {
      return error(400, 'BadRequestException', 'Malformed JSON');
    }
    const to = body.Destination?.ToAddresses ?? [];
    if (!body.FromEmailAddress || to.length === 0 || body.Content?.Simple?.Body?.Text?.Data === undefined) {
      return error(400, 'BadRequestException', 'Missing required field');
    }
    if (to.some((a) => a.startsWith('reject@'))) {
      return error(
        400,
        'MessageRejected',
        'Email address is not verified. The following identities failed the check in region US-EAST-1: reject@example.org',
      );
    }
    return { status: 200, body: { MessageId: `0100${randomBytes(16).toString('hex')}-000000` } };
  });
}
