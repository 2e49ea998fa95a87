// The simulator's wire protocol: request/response/callback shapes and magic addresses (its callback
// signature is in @dlr/contracts, shared with provider-callback).
// Pure: no I/O. Callers (dispatch, provider-callback, tests) rely on these exact shapes.

/** The channel a message goes out on. */
export type SimulatorChannel = 'email' | 'sms';

/** What happens to a message: a callback type, or `reject` (refused at the send API with 422). */
export type SimulatorOutcome = 'delivered' | 'bounce' | 'failed' | 'reject';

/** The `type` of a callback: every outcome except `reject`, which never produces one. */
export type SimulatorEventType = Exclude<SimulatorOutcome, 'reject'>;

/** Our IDs, echoed back in every callback so the receiver can correlate without a lookup. */
export interface SimulatorMetadata {
  deliveryId: string;
  communicationId: string;
  attempt: number;
}

/** Body of `POST /v1/messages`. */
export interface SimulatorSendRequest {
  channel: SimulatorChannel;
  to: string;
  subject?: string;
  /** The text (email: the plain-text part). */
  body: string;
  /** Email only: the HTML part (the message is then multipart/alternative). */
  html?: string;
  callbackUrl: string;
  metadata: SimulatorMetadata;
}

/** `202` answer of `POST /v1/messages`. */
export interface SimulatorSendAccepted {
  messageId: string;
}

/** Error answer (`400`, `401`, `422`, `503`): `error` is a stable code, `message` the provider's words. */
export interface SimulatorErrorBody {
  error: 'invalid_argument' | 'unauthenticated' | 'rejected' | 'unavailable';
  message: string;
  /** Per-field problems of a malformed request (400). */
  details?: string[];
}

/** Body of the callback `POST callbackUrl`. `eventId` is the same on every retry of one callback. */
export interface SimulatorCallback {
  eventId: string;
  messageId: string;
  type: SimulatorEventType;
  /** ISO-8601. */
  occurredAt: string;
  reason?: string;
  metadata: SimulatorMetadata;
}

/** Where a callback stands: not yet sent, answered 2xx, being retried, given up, or cancelled by `stop()`. */
export type CallbackStatus = 'pending' | 'retrying' | 'delivered' | 'gave_up' | 'cancelled';

/** One accepted message as the outbox shows it (`GET /v1/messages`). */
export interface SimulatorMessage {
  messageId: string;
  channel: SimulatorChannel;
  to: string;
  subject?: string;
  body: string;
  /** Email only: the HTML part, when one was sent; listed by `GET /v1/messages` only with `include=html`. */
  html?: string;
  metadata: SimulatorMetadata;
  /** ISO-8601. */
  acceptedAt: string;
  outcome: SimulatorEventType;
  callbackStatus: CallbackStatus;
  /** How many times the callback was POSTed so far. */
  callbackAttempts: number;
}

/** `GET /v1/messages` answer. */
export interface SimulatorOutbox {
  messages: SimulatorMessage[];
}

/** Proportions of random outcomes for addresses that are not magic; they need not sum to 1. */
export type OutcomeWeights = Readonly<Record<SimulatorEventType, number>>;

/** The default random mix: mostly delivered. */
export const DEFAULT_OUTCOMES = 'delivered=0.8,bounce=0.1,failed=0.1';

/**
 * Parses `SIMULATOR_OUTCOMES` ("delivered=0.8,bounce=0.1,failed=0.1"). Missing types weigh 0.
 * Throws an Error naming the problem for an unknown type, a repeat, a negative or non-numeric weight,
 * or weights that sum to 0.
 */
export function parseOutcomeWeights(value: string): OutcomeWeights {
  const weights: Record<SimulatorEventType, number> = { delivered: 0, bounce: 0, failed: 0 };
  const seen = new Set<string>();
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [key, raw, ...rest] = part.split('=').map((s) => s.trim());
    if (key !== 'delivered' && key !== 'bounce' && key !== 'failed')
      throw new Error(`unknown outcome "${key ?? ''}": use delivered, bounce or failed`);
    if (seen.has(key)) throw new Error(`outcome "${key}" is given twice`);
    seen.add(key);
    const weight = Number(raw);
    if (rest.length > 0 || raw === undefined || raw === '' || !Number.isFinite(weight) || weight < 0)
      throw new Error(`outcome "${key}" needs a non-negative number, e.g. ${key}=0.1`);
    weights[key] = weight;
  }
  if (weights.delivered + weights.bounce + weights.failed <= 0)
    throw new Error('the outcome weights must not all be 0');
  return weights;
}

/**
 * The outcome an address forces, or undefined when it is not a magic address (then the random mix
 * decides). Email: the local part starts with `delivered`, `bounce`, `failed` or `reject`
 * (case-insensitive). SMS: the number ends in 9991 delivered, 9992 failed, 9993 bounce, 9990 reject.
 */
export function magicOutcome(channel: SimulatorChannel, to: string): SimulatorOutcome | undefined {
  if (channel === 'email') {
    const at = to.lastIndexOf('@');
    const local = (at < 0 ? to : to.slice(0, at)).toLowerCase();
    for (const outcome of ['delivered', 'bounce', 'failed', 'reject'] as const) {
      if (local.startsWith(outcome)) return outcome;
    }
    return undefined;
  }
  const digits = to.replace(/\D/g, '');
  if (digits.endsWith('9991')) return 'delivered';
  if (digits.endsWith('9992')) return 'failed';
  if (digits.endsWith('9993')) return 'bounce';
  if (digits.endsWith('9990')) return 'reject';
  return undefined;
}

/** Picks a random outcome by weight; `random` returns a number in [0, 1). */
export function pickOutcome(weights: OutcomeWeights, random: () => number): SimulatorEventType {
  const total = weights.delivered + weights.bounce + weights.failed;
  let r = random() * total;
  for (const outcome of ['delivered', 'bounce', 'failed'] as const) {
    if (r < weights[outcome]) return outcome;
    r -= weights[outcome];
  }
  return 'delivered';
}

/** What the provider says about an address it cannot even try (422), or undefined when it is acceptable. */
export function addressProblem(channel: SimulatorChannel, to: string): string | undefined {
  if (channel === 'email') {
    return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(to) ? undefined : 'invalid email address';
  }
  return /^\+?[0-9][0-9 ()-]{5,20}$/.test(to) ? undefined : 'invalid phone number: use E.164, e.g. +61400239991';
}

/** The provider's words for an outcome, as a real provider would put them in its event. */
export function outcomeReason(channel: SimulatorChannel, outcome: SimulatorOutcome): string | undefined {
  switch (outcome) {
    case 'delivered':
      return undefined;
    case 'bounce':
      return channel === 'email'
        ? '452 4.2.2 Mailbox full; the receiving server asked to try again later'
        : 'handset temporarily unreachable';
    case 'failed':
      return channel === 'email' ? '550 5.1.1 The email account does not exist' : 'unknown subscriber';
    case 'reject':
      return channel === 'email'
        ? 'recipient address is on the provider suppression list'
        : 'destination number is blocked by the carrier';
  }
}
