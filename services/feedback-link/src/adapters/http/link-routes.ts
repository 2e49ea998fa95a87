import { httpError } from '@dlr/platform';
import {
  isShortCode,
  LinkError,
  verifyLink,
  type LinkAction,
  type LinkClaims,
  type LinkKey,
  type LinkRefusal,
} from '@dlr/links';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  chosenOption,
  classifyUserAgent,
  recordOnce,
  recordResponse,
  suspectedBot,
  type AnswerLog,
  type BotPolicy,
  type FeedbackStore,
} from '../../domain/feedback.js';
import {
  ackPage,
  badChoicePage,
  confirmAgainPage,
  errorPage,
  optOutPage,
  refusedPage,
  respondPage,
  thanksPage,
  tryAgainPage,
  type Page,
} from '../../domain/pages.js';
import type { LinkDirectory } from '../mongo/directory.js';

/** What the link pages need. */
export interface LinkRoutesOptions {
  readonly keys: readonly LinkKey[];
  readonly store: FeedbackStore;
  /** Where answers are committed; a page confirms an answer only after this resolved. */
  readonly log: AnswerLog;
  readonly directory: LinkDirectory;
  readonly bots: BotPolicy;
  readonly now?: () => Date;
}

/** Longest token we try to verify; real ones are well under 300 characters. */
const MAX_TOKEN_LENGTH = 1_024;

/** How many answers (POSTs) one link takes per minute: a recipient cannot grow a record without bound. */
export const ANSWERS_PER_LINK_PER_MINUTE = 10;
/** How many short-link lookups one client address makes per minute (codes are short enough to guess). */
export const SHORT_LINK_LOOKUPS_PER_MINUTE = 60;

/** Headers on every page: never cached, never indexed, never leaking the link as a referrer. */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
} as const;

/** A transparent 1×1 GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The RFC 8058 one-click body. */
const ONE_CLICK = /(^|&)List-Unsubscribe=One-Click(&|$)/;
const ONE_CLICK_MULTIPART = /name="?List-Unsubscribe"?\s*\r?\n\r?\n\s*One-Click\b/i;

/** Sends a rendered page with {@link PAGE_HEADERS}. */
export function sendPage(reply: FastifyReply, page: Page): FastifyReply {
  return reply.status(page.status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page.html);
}

type Resolved = { claims: LinkClaims } | { refusal: LinkRefusal | 'unknown' };

/**
 * The recipient pages. GET (and HEAD) never change state; a POST records.
 * - `/a/<token>` and `/s/<code>` (SMS short link): acknowledge or respond (options as buttons).
 * - `/u/<token>`: opt out; also the RFC 8058 one-click endpoint (body `List-Unsubscribe=One-Click` → 200, no redirect).
 * - `/o/<token>`: the 1×1 open pixel → Read.
 * Refused links: 400 / 403 / 404 / 410 with a page, nothing recorded. HEAD requests, scanner user
 * agents and hits seconds after the send are suspected bots: counted, logged, never ranked.
 * Tokens are wildcards, not `:param`s, because they can exceed the router's parameter limit.
 */
export async function linkRoutes(app: FastifyInstance, options: LinkRoutesOptions): Promise<void> {
  const now = options.now ?? (() => new Date());

  // Bodies are kept as text (at most 16 KiB): forms carry at most a response option or the one-click field.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) =>
    done(null, typeof body === 'string' ? body : ''),
  );

  app.setErrorHandler((error, request, reply) => {
    const { status } = httpError(error);
    if (status >= 500) request.log.error({ err: error, method: request.method }, 'link page failed');
    return sendPage(reply, status === 503 ? tryAgainPage(request.method === 'POST') : errorPage(status));
  });

  const seconds = () => Math.floor(now().getTime() / 1000);
  const verify = (token: string, actions: readonly LinkAction[]): Resolved => {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { refusal: 'malformed' };
    try {
      return { claims: verifyLink(token, options.keys, actions, seconds()) };
    } catch (error) {
      if (error instanceof LinkError) return { refusal: error.reason };
      throw error;
    }
  };
  const wildcard = (request: FastifyRequest) => (request.params as { '*'?: string })['*'] ?? '';
  const fromToken = (actions: readonly LinkAction[]) => async (request: FastifyRequest) =>
    verify(wildcard(request), actions);
  const fromShortCode = async (request: FastifyRequest): Promise<Resolved> => {
    const code = (request.params as { code?: string }).code ?? '';
    if (!isShortCode(code)) return { refusal: 'malformed' };
    const entry = await options.directory.shortLink(code);
    if (!entry) return { refusal: 'unknown' };
    return verify(entry.token, ['ack', 'respond']);
  };

  const refuse = (request: FastifyRequest, reply: FastifyReply, resolved: Resolved): FastifyReply | undefined => {
    if ('claims' in resolved) return undefined;
    request.log.info({ method: request.method, reason: resolved.refusal }, 'link refused');
    return sendPage(reply, refusedPage(resolved.refusal));
  };

  const landing = async (request: FastifyRequest, reply: FastifyReply, claims: LinkClaims) => {
    const userAgentClass = classifyUserAgent(request.headers['user-agent'], options.bots.scannerUserAgents);
    const bot = suspectedBot(options.bots, { method: request.method, userAgentClass, claims, now: now() });
    if (bot) request.log.info({ deliveryId: claims.deliveryId, reason: bot }, 'suspected automated link visit');
    const content = await options.directory.content(claims.communicationId);
    switch (claims.action) {
      case 'respond':
        return sendPage(
          reply,
          respondPage(content, claims.channel, await options.store.latestResponse(claims.deliveryId)),
        );
      case 'optout':
        return sendPage(
          reply,
          optOutPage(content, claims.channel, await options.store.findOnce(claims.deliveryId, 'optout')),
        );
      case 'ack':
      case 'read':
        return sendPage(
          reply,
          ackPage(content, claims.channel, await options.store.findOnce(claims.deliveryId, 'ack')),
        );
    }
  };

  const answer = async (request: FastifyRequest, reply: FastifyReply, claims: LinkClaims) => {
    const body = typeof request.body === 'string' ? request.body : '';
    const userAgentClass = classifyUserAgent(request.headers['user-agent'], options.bots.scannerUserAgents);
    const at = now();
    const log = { deliveryId: claims.deliveryId, action: claims.action, userAgentClass };

    // RFC 8058: the mail client's one-click POST is the recipient's explicit request; no bot rule applies.
    if (claims.action === 'optout' && isOneClick(request.headers['content-type'], body)) {
      const { firstTime } = await recordOnce(options, claims, 'optout', at, 'one-click', userAgentClass);
      request.log.info({ ...log, firstTime }, 'one-click opt-out recorded');
      return reply.status(200).headers(PAGE_HEADERS).type('text/plain; charset=utf-8').send('Unsubscribed.\n');
    }

    const content = claims.action === 'respond' ? await options.directory.content(claims.communicationId) : null;
    const bot = suspectedBot(options.bots, { method: request.method, userAgentClass, claims, now: at });
    if (bot) {
      await options.store.recordSuspectedBot(claims.deliveryId, claims.action, bot, at);
      request.log.info({ ...log, reason: bot }, 'suspected automated answer; not recorded as an answer');
      return sendPage(reply, confirmAgainPage(claims.action === 'respond' ? (content?.responseOptions ?? []) : null));
    }

    switch (claims.action) {
      case 'respond': {
        const choice = chosenOption(content?.responseOptions ?? [], new URLSearchParams(body).get('option'));
        if (choice === undefined) return sendPage(reply, badChoicePage());
        const record = await recordResponse(options, claims, choice, at, userAgentClass);
        request.log.info({ ...log, optionIndex: choice.index }, 'response recorded');
        return sendPage(reply, thanksPage(record));
      }
      case 'ack':
      case 'optout': {
        const { record, firstTime } = await recordOnce(options, claims, claims.action, at, 'page', userAgentClass);
        request.log.info({ ...log, firstTime }, 'answer recorded');
        return sendPage(reply, thanksPage(record));
      }
      case 'read':
        return sendPage(reply, errorPage(405));
    }
  };

  // Recipients' pages are public (the signed link is the credential). Answers are limited per link,
  // short codes (guessable) per client address; both in memory, per replica.
  const perLink = {
    max: ANSWERS_PER_LINK_PER_MINUTE,
    timeWindow: '1 minute',
    keyGenerator: (request: FastifyRequest) => {
      const params = request.params as Record<string, string | undefined>;
      return `${request.routeOptions.url ?? ''}:${params['*'] ?? params['code'] ?? ''}`;
    },
  };
  const shortLinkLimit = { max: SHORT_LINK_LOOKUPS_PER_MINUTE, timeWindow: '1 minute' };
  const pages = (path: string, resolve: (request: FastifyRequest) => Promise<Resolved>) => {
    const short = path.startsWith('/s/');
    app.get(
      path,
      { config: { access: 'public', ...(short ? { rateLimit: shortLinkLimit } : {}) } },
      async (request, reply) => {
        const resolved = await resolve(request);
        return refuse(request, reply, resolved) ?? landing(request, reply, (resolved as { claims: LinkClaims }).claims);
      },
    );
    app.post(path, { config: { access: 'public', rateLimit: perLink } }, async (request, reply) => {
      const resolved = await resolve(request);
      return refuse(request, reply, resolved) ?? answer(request, reply, (resolved as { claims: LinkClaims }).claims);
    });
  };
  pages('/a/*', fromToken(['ack', 'respond']));
  pages('/s/:code', fromShortCode);
  pages('/u/*', fromToken(['optout']));

  app.get('/o/*', { config: { access: 'public' } }, async (request, reply) => {
    const resolved = verify(wildcard(request), ['read']);
    const send = (status: number) =>
      reply.status(status).headers(PAGE_HEADERS).type('image/gif').header('content-length', PIXEL.length).send(PIXEL);
    if (!('claims' in resolved)) {
      request.log.info({ method: request.method, reason: resolved.refusal }, 'pixel refused');
      return send(refusedPage(resolved.refusal).status);
    }
    const { claims } = resolved;
    const userAgentClass = classifyUserAgent(request.headers['user-agent'], options.bots.scannerUserAgents);
    const at = now();
    const bot = suspectedBot(options.bots, { method: request.method, userAgentClass, claims, now: at });
    try {
      if (bot) await options.store.recordSuspectedBot(claims.deliveryId, 'read', bot, at);
      else await recordOnce(options, claims, 'read', at, 'pixel', userAgentClass);
    } catch (error) {
      // The image is shown anyway; a later load records it.
      request.log.warn(
        { deliveryId: claims.deliveryId, err: String(error) },
        'open not recorded; will on a later load',
      );
    }
    request.log.info({ deliveryId: claims.deliveryId, suspectedBot: bot ?? false }, 'open pixel');
    return send(200);
  });
}

function isOneClick(contentType: string | undefined, body: string): boolean {
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) return ONE_CLICK_MULTIPART.test(body);
  return ONE_CLICK.test(body.trim());
}
