import { httpError } from '@dlr/platform';
import { LinkError, verifyLink, type LinkClaims, type LinkKey, type LinkRefusal } from '@dlr/links';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acknowledge, classifyUserAgent, type EventPublisher, type FeedbackStore } from '../../domain/feedback.js';
import {
  ackPage,
  alreadyAcknowledgedPage,
  errorPage,
  refusedPage,
  thanksPage,
  tryAgainPage,
  type Page,
} from '../../domain/pages.js';

/** What the link pages need. */
export interface LinkRoutesOptions {
  readonly keys: readonly LinkKey[];
  readonly store: FeedbackStore;
  readonly publisher: EventPublisher;
  readonly now?: () => Date;
}

/** Longest token we try to verify; real ones are well under 300 characters. */
const MAX_TOKEN_LENGTH = 1_024;

/** Headers on every page: never cached, never indexed, never leaking the link as a referrer. */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
} as const;

/** Sends a rendered page with {@link PAGE_HEADERS}. */
export function sendPage(reply: FastifyReply, page: Page): FastifyReply {
  return reply.status(page.status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page.html);
}

/**
 * `GET /a/<token>` (and HEAD): the landing page; never changes state. `POST /a/<token>`: records
 * the acknowledgement once, publishes its event, answers a confirmation (503 "Please try again"
 * when publishing fails; the record stays). Refused links: 400 / 403 / 410, nothing recorded.
 * The token is a wildcard, not a `:param`, because tokens can exceed the router's 100-character
 * parameter limit.
 */
export async function linkRoutes(app: FastifyInstance, options: LinkRoutesOptions): Promise<void> {
  const now = options.now ?? (() => new Date());

  // Whatever the form sends (urlencoded, nothing, anything else) is ignored: the token says it all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_request, _body, done) =>
    done(null, undefined),
  );

  app.setErrorHandler((error, request, reply) => {
    const { status } = httpError(error);
    if (status >= 500) request.log.error({ err: error, method: request.method }, 'link page failed');
    return sendPage(reply, status === 503 ? tryAgainPage(request.method === 'POST') : errorPage(status));
  });

  const verify = (request: FastifyRequest): LinkClaims | LinkRefusal => {
    const token = (request.params as { '*'?: string })['*'] ?? '';
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return 'malformed';
    try {
      return verifyLink(token, options.keys, 'ack', Math.floor(now().getTime() / 1000));
    } catch (error) {
      if (error instanceof LinkError) return error.reason;
      throw error;
    }
  };

  app.get('/a/*', async (request, reply) => {
    const claims = verify(request);
    if (typeof claims === 'string') {
      request.log.info({ method: request.method, reason: claims }, 'link refused');
      return sendPage(reply, refusedPage(claims));
    }
    if (request.method === 'HEAD' || classifyUserAgent(request.headers['user-agent']) === 'bot')
      request.log.info({ deliveryId: claims.deliveryId, method: request.method }, 'suspected automated link visit');
    const existing = await options.store.findAck(claims.deliveryId);
    return sendPage(reply, existing ? alreadyAcknowledgedPage(existing.recordedAt) : ackPage());
  });

  app.post('/a/*', async (request, reply) => {
    const claims = verify(request);
    if (typeof claims === 'string') {
      request.log.info({ method: request.method, reason: claims }, 'link refused');
      return sendPage(reply, refusedPage(claims));
    }
    const userAgentClass = classifyUserAgent(request.headers['user-agent']);
    const result = await acknowledge(options, claims, now(), userAgentClass);
    request.log.info(
      { deliveryId: claims.deliveryId, firstTime: result.firstTime, userAgentClass },
      'acknowledgement recorded',
    );
    return sendPage(reply, thanksPage(result.recordedAt));
  });
}
