// A local Mailgun Messages API peer (POST /v3/<domain>/messages, multipart form, Basic api:<key>)
// as documented: 200 {"id":"<…@domain>","message":"Queued. Thank you."}; 401 "Forbidden" as text;
// other errors {"message": "…"}. Recipients decide: "reject@…" → 400; anything else → 200.
import { randomBytes } from 'node:crypto';
import { basicCredentials, formFields, startHttpPeer, type HttpPeer } from './http-peer.js';

/** Starts the Mailgun peer for `domain`, accepting `apiKey`. */
export function startMailgunPeer(domain: string, apiKey: string): Promise<HttpPeer> {
  return startHttpPeer(async (request) => {
    if (request.method !== 'POST' || request.url !== `/v3/${domain}/messages`) {
      return { status: 404, body: { message: 'Domain not found' } };
    }
    const credentials = basicCredentials(request.headers['authorization']);
    if (credentials?.user !== 'api' || credentials.password !== apiKey) return { status: 401, body: 'Forbidden' };
    const fields = new Map(await formFields(request));
    for (const required of ['from', 'to']) {
      if (!fields.get(required)) return { status: 400, body: { message: `${required} parameter is missing` } };
    }
    if (!fields.has('text') && !fields.has('html')) {
      return {
        status: 400,
        body: { message: "Need at least one of 'text', 'html' or 'template' parameters specified" },
      };
    }
    if (fields.get('to')!.startsWith('reject@')) {
      return { status: 400, body: { message: 'to parameter is not a valid address. please check documentation' } };
    }
    const id = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}.${randomBytes(8).toString('hex')}@${domain}`;
    return { status: 200, body: { id: `<${id}>`, message: 'Queued. Thank you.' } };
  });
}
