import { DeliveryEvent, DeliveryStatus, EventSource } from '@dlr/contracts';
import type { LinkAction, LinkClaims, LinkRefusal } from '@dlr/links';

/** A coarse class of the browser that sent a request: never the user agent itself. */
export type UserAgentClass = 'mobile' | 'desktop' | 'bot' | 'unknown';

/** The answers a recipient can give through a link (the read pixel counts as one). */
export type AnswerAction = Extract<LinkAction, 'ack' | 'respond' | 'optout' | 'read'>;

/** How an answer arrived. */
export type AnswerVia = 'page' | 'one-click' | 'pixel';

/**
 * One recorded answer (collection `feedback`). Acknowledge, opt-out and read are recorded once per
 * delivery record (`<deliveryId>:<action>`); every response is its own document
 * (`<deliveryId>:respond:<time>:<option>`), and `<deliveryId>:response` points at the latest.
 */
export interface AnswerRecord {
  readonly _id: string;
  readonly deliveryId: string;
  readonly communicationId: string;
  readonly action: AnswerAction;
  /** The option chosen (respond only). */
  readonly response?: string;
  readonly optionIndex?: number;
  /** When it was first recorded; later POSTs keep this time. */
  readonly recordedAt: Date;
  readonly via: AnswerVia;
  readonly userAgentClass?: UserAgentClass;
}

/** The pointer to a delivery record's latest response (`<deliveryId>:response`). */
export interface LatestResponse {
  readonly _id: string;
  readonly responseId: string;
  readonly response: string;
  readonly recordedAt: Date;
}

/** Where answers are kept (addressed by `_id` only). */
export interface FeedbackStore {
  /** The once-only answer of a delivery record for an action, if recorded. */
  findOnce(deliveryId: string, action: Exclude<AnswerAction, 'respond'>): Promise<AnswerRecord | null>;
  /** Inserts unless one with the same `_id` exists; returns the stored (first) one. */
  recordOnce(record: AnswerRecord): Promise<{ readonly stored: AnswerRecord; readonly inserted: boolean }>;
  /** Inserts a response (every one is kept) and points the latest-response pointer at it when newer. */
  recordResponse(record: AnswerRecord): Promise<void>;
  /** The latest response of a delivery record, if any. */
  latestResponse(deliveryId: string): Promise<LatestResponse | null>;
  /** Counts a suspected bot hit on a delivery record's links (never ranked). */
  recordSuspectedBot(deliveryId: string, action: AnswerAction, reason: BotReason, at: Date): Promise<void>;
}

/**
 * Where answers are committed: JetStream, the system's record of them (the store is fed from it).
 * Resolves once the event is durable, with the event the stream holds under its event ID (the first
 * one, when this was a repeat); throws when it could not be committed.
 */
export interface AnswerLog {
  commit(event: DeliveryEvent, userAgentClass: UserAgentClass): Promise<{ event: DeliveryEvent; duplicate: boolean }>;
}

/** The HTTP status a refused link is answered with. */
export function refusalStatus(reason: LinkRefusal | 'unknown'): 400 | 403 | 404 | 410 {
  switch (reason) {
    case 'malformed':
      return 400;
    case 'expired':
      return 410;
    case 'unknown':
      return 404;
    case 'bad_signature':
    case 'unknown_key':
    case 'wrong_action':
      return 403;
  }
}

/** `_id` of a once-only answer. */
export function answerId(deliveryId: string, action: Exclude<AnswerAction, 'respond'>): string {
  return `${deliveryId}:${action}`;
}

/** `_id` of a response: time and option make each one distinct (a double submit is one). */
export function responseId(deliveryId: string, recordedAt: Date, optionIndex: number): string {
  return `${deliveryId}:respond:${recordedAt.getTime().toString(36)}:${optionIndex}`;
}

/** `_id` of the latest-response pointer. */
export function latestResponseId(deliveryId: string): string {
  return `${deliveryId}:response`;
}

const STATUS: Record<AnswerAction, DeliveryStatus> = {
  ack: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
  respond: DeliveryStatus.DELIVERY_STATUS_RESPONDED,
  optout: DeliveryStatus.DELIVERY_STATUS_OPTED_OUT,
  read: DeliveryStatus.DELIVERY_STATUS_READ,
};

/** What the Response column shows for an answer. */
export function responseText(record: Pick<AnswerRecord, 'action' | 'response'>): string {
  switch (record.action) {
    case 'ack':
      return 'Acknowledged';
    case 'respond':
      return record.response ?? '';
    case 'optout':
      return 'Opted out';
    case 'read':
      return '';
  }
}

/**
 * The event an answer produces (attempt 0: a human action, not tied to a send attempt), built from
 * the stored record so a re-publish is byte-identical. Event ID: `feedback:<record _id>`.
 */
export function answerEvent(record: AnswerRecord): DeliveryEvent {
  return DeliveryEvent.fromPartial({
    eventId: `feedback:${record._id}`,
    deliveryId: record.deliveryId,
    communicationId: record.communicationId,
    attempt: 0,
    status: STATUS[record.action],
    source: EventSource.EVENT_SOURCE_FEEDBACK,
    providerEventType: record.via,
    occurredAt: record.recordedAt,
    receivedAt: record.recordedAt,
    response: responseText(record),
  });
}

/** Default substrings (case-insensitive) of User-Agent headers of link scanners, previewers and scripts. */
export const DEFAULT_SCANNER_USER_AGENTS = [
  'bot',
  'crawl',
  'spider',
  'slurp',
  'preview',
  'scanner',
  'headless',
  'curl/',
  'wget/',
  'python',
  'go-http-client',
  'java/',
  'okhttp',
  'libwww',
  'httpclient',
  'facebookexternalhit',
  'safelinks',
  'proofpoint',
  'mimecast',
  'barracuda',
  'microsoft office',
];

const MOBILE = /mobi|android|iphone|ipad|ipod|windows phone/i;
const DESKTOP = /windows nt|macintosh|x11|linux|cros/i;

/** Classifies a User-Agent header coarsely; any of `scanners` (substrings, case-insensitive) is a bot. */
export function classifyUserAgent(
  userAgent: string | undefined,
  scanners: readonly string[] = DEFAULT_SCANNER_USER_AGENTS,
): UserAgentClass {
  if (!userAgent) return 'unknown';
  const lower = userAgent.toLowerCase();
  if (scanners.some((s) => s !== '' && lower.includes(s.toLowerCase()))) return 'bot';
  if (MOBILE.test(userAgent)) return 'mobile';
  if (DESKTOP.test(userAgent)) return 'desktop';
  return 'unknown';
}

/** Why a hit is taken for a machine's: a HEAD request, a scanner's user agent, or too soon after the send. */
export type BotReason = 'head' | 'scanner' | 'too_soon';

/** The rules that tell a machine's hit from a person's. */
export interface BotPolicy {
  readonly scannerUserAgents: readonly string[];
  /** Hits this many seconds or less after the link was minted (just before the send) are suspect. */
  readonly windowSeconds: number;
}

/** Why a hit is suspected to be a machine's, or undefined for a person's. */
export function suspectedBot(
  policy: BotPolicy,
  hit: { method: string; userAgentClass: UserAgentClass; claims: Pick<LinkClaims, 'issuedAt'>; now: Date },
): BotReason | undefined {
  if (hit.method === 'HEAD') return 'head';
  if (hit.userAgentClass === 'bot') return 'scanner';
  if (hit.now.getTime() / 1000 - hit.claims.issuedAt <= policy.windowSeconds) return 'too_soon';
  return undefined;
}

/**
 * Bound of the store lookup before an answer's commit. A frozen store costs every answer this much, so
 * it must leave the PubAck room within the answers' 250 ms p99 (see docs/decisions.md, the fault suite).
 */
const LOOKUP_MS = 100;

/**
 * Records a once-only answer (acknowledge, opt-out, read): commits its event to the {@link AnswerLog}
 * unless the store already holds it (looked up with `lookupMs` as a bound: a slow store only costs a
 * commit that JetStream deduplicates). A repeat keeps the first `recordedAt`. Throws when it could not
 * be committed: then nothing was recorded, and the recipient is told so.
 */
export async function recordOnce(
  ports: { store: FeedbackStore; log: AnswerLog; lookupMs?: number },
  link: Pick<LinkClaims, 'deliveryId' | 'communicationId'>,
  action: Exclude<AnswerAction, 'respond'>,
  now: Date,
  via: AnswerVia,
  userAgentClass: UserAgentClass,
): Promise<{ record: AnswerRecord; firstTime: boolean }> {
  const known = await within(ports.lookupMs ?? LOOKUP_MS, ports.store.findOnce(link.deliveryId, action));
  if (known) return { record: known, firstTime: false };
  const record: AnswerRecord = {
    _id: answerId(link.deliveryId, action),
    deliveryId: link.deliveryId,
    communicationId: link.communicationId,
    action,
    recordedAt: now,
    via,
    userAgentClass,
  };
  const committed = await ports.log.commit(answerEvent(record), userAgentClass);
  if (!committed.duplicate) return { record, firstTime: true };
  return { record: answerFromEvent(committed.event, userAgentClass) ?? record, firstTime: false };
}

/**
 * Records a response (every one is kept; the latest is the one shown): commits its event. Throws
 * when it could not be committed: then nothing was recorded, and the recipient is told so.
 */
export async function recordResponse(
  ports: { log: AnswerLog },
  link: Pick<LinkClaims, 'deliveryId' | 'communicationId'>,
  option: { index: number; text: string },
  now: Date,
  userAgentClass: UserAgentClass,
): Promise<AnswerRecord> {
  const record: AnswerRecord = {
    _id: responseId(link.deliveryId, now, option.index),
    deliveryId: link.deliveryId,
    communicationId: link.communicationId,
    action: 'respond',
    response: option.text,
    optionIndex: option.index,
    recordedAt: now,
    via: 'page',
    userAgentClass,
  };
  await ports.log.commit(answerEvent(record), userAgentClass);
  return record;
}

const ACTION_OF: ReadonlyMap<DeliveryStatus, AnswerAction> = new Map(
  Object.entries(STATUS).map(([action, status]) => [status, action as AnswerAction]),
);
const VIAS: readonly string[] = ['page', 'one-click', 'pixel'] satisfies AnswerVia[];
const USER_AGENT_CLASSES: readonly string[] = ['mobile', 'desktop', 'bot', 'unknown'] satisfies UserAgentClass[];

/** The answer an event of {@link answerEvent} stands for, or undefined when it is not one. */
export function answerFromEvent(event: DeliveryEvent, userAgentClass?: string): AnswerRecord | undefined {
  const action = ACTION_OF.get(event.status);
  const id = event.eventId.startsWith('feedback:') ? event.eventId.slice('feedback:'.length) : '';
  if (action === undefined || id === '' || !event.occurredAt || !VIAS.includes(event.providerEventType))
    return undefined;
  const base = {
    _id: id,
    deliveryId: event.deliveryId,
    communicationId: event.communicationId,
    action,
    recordedAt: event.occurredAt,
    via: event.providerEventType as AnswerVia,
    ...(userAgentClass !== undefined && USER_AGENT_CLASSES.includes(userAgentClass)
      ? { userAgentClass: userAgentClass as UserAgentClass }
      : {}),
  };
  if (action !== 'respond') return id === answerId(event.deliveryId, action) ? base : undefined;
  const optionIndex = Number(id.slice(id.lastIndexOf(':') + 1));
  if (!id.startsWith(`${event.deliveryId}:respond:`) || !Number.isInteger(optionIndex)) return undefined;
  return { ...base, response: event.response, optionIndex };
}

/** The store's answer, or null when it fails or takes longer than `ms`. */
async function within<T>(ms: number, work: Promise<T | null>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([work.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The response option a respond form chose: `option` must be the decimal index (no sign, padding
 * or exponent) of one of the communication's options. Undefined for anything else, which records nothing.
 */
export function chosenOption(
  responseOptions: readonly string[],
  option: string | null,
): { index: number; text: string } | undefined {
  if (option === null || !/^(0|[1-9]\d{0,2})$/.test(option)) return undefined;
  const index = Number(option);
  const text = responseOptions[index];
  return text === undefined ? undefined : { index, text };
}
