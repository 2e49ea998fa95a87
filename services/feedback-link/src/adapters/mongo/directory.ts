import { LinkContent, ShortLinkIssued, streamNames, subjects } from '@dlr/contracts';
import { UnavailableError, type MongoHandle, type NatsHandle } from '@dlr/platform';
import type { PageContent } from '../../domain/pages.js';
import { COLLECTIONS } from './feedback-store.js';

/** A short code's entry: the signed token it stands for. */
export interface ShortLinkDoc {
  _id: string;
  token: string;
  deliveryId: string;
  communicationId: string;
  issuedAt: Date;
}

/** What the pages show of a communication. */
export interface LinkContentDoc extends PageContent {
  _id: string;
  acknowledgementRequested: boolean;
  publishedAt: Date;
  /** Names of an erased person were replaced in it (see `eraseFeedback`). */
  erased?: boolean;
}

/** Where feedback-link finds short links and page content. */
export interface LinkDirectory {
  /** The token a short code stands for, or null for an unknown code. */
  shortLink(code: string): Promise<ShortLinkDoc | null>;
  /** The content of a communication, or null when dispatch never published it. */
  content(communicationId: string): Promise<LinkContentDoc | null>;
  /** Stores a short link (the latest issue of a code wins). */
  putShortLink(message: ShortLinkIssued): Promise<void>;
  /** Stores a communication's content. */
  putContent(message: LinkContent): Promise<void>;
}

function shortLinkDoc(m: ShortLinkIssued): ShortLinkDoc {
  return {
    _id: m.code,
    token: m.token,
    deliveryId: m.deliveryId,
    communicationId: m.communicationId,
    issuedAt: m.issuedAt ?? new Date(0),
  };
}

function contentDoc(m: LinkContent): LinkContentDoc {
  return {
    _id: m.communicationId,
    title: m.title,
    emailBody: m.emailBody,
    smsText: m.smsText,
    responseOptions: m.responseOptions,
    acknowledgementRequested: m.acknowledgementRequested,
    publishedAt: m.publishedAt ?? new Date(0),
  };
}

/** How long a page waits for the store before it reads the stream instead. */
export const STORE_LOOKUP_MS = 200;

/** The store's answer, or null when it fails or is slower than {@link STORE_LOOKUP_MS}. */
async function fromStore<T>(read: Promise<T | null>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), STORE_LOOKUP_MS)));
  try {
    return await Promise.race([read.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * {@link LinkDirectory} over feedback-link's own collections (filled by its consumers), falling back
 * to the newest message on the code's (or communication's) subject in the DISPATCH stream when the
 * consumer has not caught up, or the store does not answer within {@link STORE_LOOKUP_MS} (the stream
 * is the record; the collections are its projection): dispatch publishes both before the provider
 * call, so a link works the moment the message arrives, and while the store is down.
 */
export function linkDirectory(mongo: MongoHandle, nats: NatsHandle, namespace: string): LinkDirectory {
  const shortLinks = mongo.db.collection<ShortLinkDoc>(COLLECTIONS.shortLinks);
  const contents = mongo.db.collection<LinkContentDoc>(COLLECTIONS.linkContent);
  const stream = streamNames(namespace).dispatch;
  const s = subjects(namespace);
  const lastOn = async (subject: string): Promise<Uint8Array | null> => {
    try {
      const message = await nats.jsm.streams.getMessage(stream, { last_by_subj: subject });
      return message?.data ?? null;
    } catch (error) {
      // "no message found" is an unknown code; anything else is an outage.
      if (/no message found|10037/i.test(String((error as { message?: unknown }).message ?? error))) return null;
      throw new UnavailableError('could not read the link stream', error);
    }
  };
  return {
    shortLink: async (code) => {
      const stored = await fromStore(shortLinks.findOne({ _id: code }));
      if (stored) return stored;
      const data = await lastOn(s.shortLinkIssued(code));
      return data ? shortLinkDoc(ShortLinkIssued.decode(data)) : null;
    },
    content: async (communicationId) => {
      const stored = await fromStore(contents.findOne({ _id: communicationId }));
      if (stored) return stored;
      const data = await lastOn(s.linkContent(communicationId));
      return data ? contentDoc(LinkContent.decode(data)) : null;
    },
    putShortLink: async (message) => {
      const doc = shortLinkDoc(message);
      const current = await shortLinks.findOne({ _id: doc._id });
      if (current && current.issuedAt.getTime() > doc.issuedAt.getTime()) return;
      await shortLinks.replaceOne({ _id: doc._id }, doc, { upsert: true });
    },
    putContent: async (message) => {
      const doc = contentDoc(message);
      // An erased content is not overwritten by a redelivered copy of what it was erased from.
      const current = await contents.findOne({ _id: doc._id }, { projection: { publishedAt: 1, erased: 1 } });
      if (current?.erased === true && current.publishedAt.getTime() >= doc.publishedAt.getTime()) return;
      await contents.replaceOne({ _id: doc._id }, doc, { upsert: true });
    },
  };
}
