import { createHash } from 'node:crypto';
import { LinkContent, ShortLinkIssued, subjects } from '@dlr/contracts';
import { LINK_PATHS, linkUrl, shortCode, signLink, type LinkAction, type LinkKey } from '@dlr/links';
import { publishDurable, UnavailableError, type NatsHandle } from '@dlr/platform';
import type { LinkIssuer, LinkRequest } from '../../domain/dispatcher.js';
import type { MessageLinks } from '../../domain/render.js';

const DAY_SECONDS = 86_400;
/** Communications whose content this process has published (bounded; a repeat is deduplicated anyway). */
const CONTENT_CACHE = 10_000;

/** How links are minted. */
export interface LinkIssuerOptions {
  readonly nats: NatsHandle;
  readonly namespace: string;
  readonly keys: readonly LinkKey[];
  /** Public base URL of feedback-link (email links). */
  readonly baseUrl: string;
  /** Public base URL for SMS short links (a short host); `<it>/s/<code>`. */
  readonly shortBaseUrl: string;
  /** Validity of acknowledge / respond links, in days. */
  readonly ttlDays: number;
  /** Validity of opt-out links, in days (at least 30). */
  readonly optOutTtlDays: number;
  /** `mailto:` address for List-Unsubscribe, when configured. */
  readonly unsubscribeMailto?: string;
}

/**
 * {@link LinkIssuer} that signs tokens with the newest key and, before returning, publishes (durably)
 * what feedback-link needs to resolve them: the communication's page content once per process, and
 * each SMS short code with the token it stands for.
 */
export function natsLinkIssuer(options: LinkIssuerOptions): LinkIssuer {
  const s = subjects(options.namespace);
  // Per communication, its content's publish (shared by every message of a batch that needs it).
  const published = new Map<string, Promise<void>>();

  const publishContent = (request: LinkRequest): Promise<void> => {
    const known = published.get(request.communicationId);
    if (known) return known;
    const c = request.content;
    const message = LinkContent.fromPartial({
      communicationId: request.communicationId,
      title: c.title,
      emailBody: c.emailBody,
      smsText: c.smsText,
      acknowledgementRequested: c.acknowledgementRequested,
      responseOptions: c.responseOptions,
      publishedAt: request.now,
    });
    const bytes = LinkContent.encode(message).finish();
    // The same content published again is one message; changed content (never, once sent) is a new one.
    const digest = createHash('sha256').update(bytes.subarray(0, bytes.length)).digest('base64url').slice(0, 16);
    const publishing = durable(
      s.linkContent(request.communicationId),
      bytes,
      `link-content:${request.communicationId}:${digest}`,
    );
    published.set(request.communicationId, publishing);
    publishing.catch(() => published.delete(request.communicationId));
    if (published.size > CONTENT_CACHE) published.delete(published.keys().next().value!);
    return publishing;
  };

  const durable = async (subject: string, bytes: Uint8Array, msgId: string) => {
    try {
      await publishDurable(options.nats.js, subject, bytes, msgId);
    } catch (error) {
      throw new UnavailableError('could not publish link data; retry later', error);
    }
  };

  const issue = async (request: LinkRequest): Promise<MessageLinks> => {
    const { content, channel } = request;
    const wantsResponse = content.responseOptions.length > 0;
    const wantsAck = content.acknowledgementRequested && !wantsResponse;
    const issuedAt = Math.floor(request.now.getTime() / 1000);
    const token = (action: LinkAction, days: number) =>
      signLink(
        {
          deliveryId: request.deliveryId,
          communicationId: request.communicationId,
          channel,
          action,
          issuedAt,
          expiresAt: issuedAt + days * DAY_SECONDS,
        },
        options.keys,
      );
    const pageAction: LinkAction | undefined = wantsResponse ? 'respond' : wantsAck ? 'ack' : undefined;
    if (pageAction === undefined && channel === 'sms') return {};
    // The landing pages (and the opt-out page) show the communication's text.
    await publishContent(request);
    if (channel === 'sms') {
      const code = shortCode(request.deliveryId, pageAction!, options.keys);
      const signed = token(pageAction!, options.ttlDays);
      const message = ShortLinkIssued.fromPartial({
        code,
        token: signed,
        deliveryId: request.deliveryId,
        communicationId: request.communicationId,
        issuedAt: request.now,
      });
      const tokenHash = createHash('sha256').update(signed).digest('base64url').slice(0, 16);
      await durable(
        s.shortLinkIssued(code),
        ShortLinkIssued.encode(message).finish(),
        `short-link:${code}:${tokenHash}`,
      );
      const url = linkUrl(options.shortBaseUrl, LINK_PATHS.short, code);
      return pageAction === 'respond' ? { respond: url } : { ack: url };
    }
    const optout = linkUrl(options.baseUrl, LINK_PATHS.optout, token('optout', options.optOutTtlDays));
    const unsubscribe = [`<${optout}>`];
    if (options.unsubscribeMailto)
      unsubscribe.push(`<mailto:${options.unsubscribeMailto}?subject=unsubscribe%20${request.deliveryId}>`);
    // The open pixel lives as long as the opt-out link: a message may be opened weeks later.
    const pixel = linkUrl(options.baseUrl, LINK_PATHS.pixel, token('read', options.optOutTtlDays));
    const links: MessageLinks = {
      optout,
      pixel,
      headers: {
        'List-Unsubscribe': unsubscribe.join(', '),
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      ...(pageAction === undefined
        ? {}
        : { [pageAction]: linkUrl(options.baseUrl, LINK_PATHS.page, token(pageAction, options.ttlDays)) }),
    };
    return links;
  };

  return {
    issue,
    // Each message's writes are published at once; the batch waits for all their PubAcks together.
    issueMany: (requests) => Promise.all(requests.map(issue)),
  };
}
