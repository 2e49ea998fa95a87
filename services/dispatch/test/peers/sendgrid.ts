// A local SendGrid v3 Mail Send peer (POST /v3/mail/send, JSON, Bearer API key) as documented:
// 202 with an empty body and an X-Message-Id header; errors as {"errors":[{"message","field","help"}]}.
// Recipients decide: "reject@…" → 400 with a field error; anything else → 202.
import { randomBytes } from 'node:crypto';
import { startHttpPeer, type Answer, type HttpPeer } from './http-peer.js';

function errors(status: number, ...list: { message: string; field: string | null }[]): Answer {
  return { status, body: { errors: list.map((e) => ({ ...e, help: null })) } };
}

/** Starts the SendGrid peer accepting `apiKey`. */
export function startSendGridPeer(apiKey: string): Promise<HttpPeer> {
  return startHttpPeer((request) => {
    if (request.method !== 'POST' || request.url !== '/v3/mail/send') {
      return errors(404, { message: 'resource not found', field: null });
    }
    if (request.headers['authorization'] !== `Bearer ${apiKey}`) {
      return errors(401, { message: 'The provided authorization grant is invalid, expired, or revoked', field: null });
    }
    let body: { personalizations?: { to?: { email?: string }[] }[]; from?: { email?: string }; content?: unknown[] };
    try {
      body = JSON.parse(request.body.toString('utf8')) as typeof body;
    } catch {
      return errors(400, { message: 'Bad Request', field: null });
    }
    const to = body.personalizations?.flatMap((p) => p.to ?? []) ?? [];
    if (to.length === 0)
      return errors(400, { message: 'The personalizations field is required.', field: 'personalizations' });
    if (!body.from?.email) return errors(400, { message: 'The from object must be provided.', field: 'from' });
    if (to.some((r) => r.email?.startsWith('reject@'))) {
      return errors(400, {
        message: 'Does not contain a valid address.',
        field: 'personalizations.0.to.0.email',
      });
    }
    return { status: 202, headers: { 'x-message-id': randomBytes(11).toString('base64url') } };
  });
}
