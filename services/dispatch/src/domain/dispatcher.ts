import { channelName, MessageContent, type SendRequested } from '@dlr/contracts';
import { UnavailableError, type Logger } from '@dlr/platform';
import {
  attemptEvent,
  attemptId,
  isFinished,
  type AttemptDoc,
  type AttemptResult,
  type FinishedAttempt,
} from './attempt.js';
import type { AttemptStore, DeliveryEventPublisher } from './ports.js';
import {
  CallNotStartedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  type ChannelName,
  type OutboundMessage,
  type Provider,
} from './provider.js';
import { renderMessage, type MessageLinks } from './render.js';

/** The text of a Not Sent `send_interrupted`. */
export const SEND_INTERRUPTED_TEXT = 'dispatch restarted during the provider call; the provider may have accepted it';

/** A send request that can never be processed (missing IDs, unknown channel): dead-letter it. */
export class InvalidSendRequestError extends Error {
  override readonly name = 'InvalidSendRequestError';
}

/**
 * Another handler holds this attempt and may still be calling the provider (e.g. the same request
 * published twice). Retry later: by then it has a result to re-publish, or is clearly abandoned.
 */
export class AttemptInFlightError extends Error {
  override readonly name = 'AttemptInFlightError';
}

/** We are shutting down between provider calls; the attempt was released for a later redelivery. */
export class DispatchStoppedError extends Error {
  override readonly name = 'DispatchStoppedError';
}

/**
 * The batch's time budget ran out before this message's provider call started (it waited for a
 * rate-limit token or a free call slot): its attempt is released, and a later delivery sends it.
 * Transient: it does not count toward dead-lettering.
 */
export class SendDeferredError extends UnavailableError {
  override readonly name = 'SendDeferredError';
}

/** How hard to try a provider that is unavailable. */
export interface RetryPolicy {
  /** Retries after the first call (so at most `maxRetries + 1` calls). */
  readonly maxRetries: number;
  /** Timeout of one provider call. */
  readonly callTimeoutMs: number;
  /** Delay before retry `n` (1-based). */
  readonly delayMs: (retry: number) => number;
  /**
   * Time from the start of an attempt after which no further provider call is started. It must stay
   * below the consumer's ack wait, so a message is never redelivered while a handler is still sending.
   */
  readonly budgetMs: number;
  /** A `sending` attempt older than this is abandoned (its handler died); must exceed `budgetMs`. */
  readonly staleAfterMs: number;
}

/** What the dispatcher needs. */
export interface DispatcherDeps {
  readonly attempts: AttemptStore;
  readonly events: DeliveryEventPublisher;
  /** The provider of each channel (the same instance may serve both). */
  readonly providers: Readonly<Record<ChannelName, Provider>>;
  /** The acknowledge URL for a delivery, signed, expiring some time after `now` (when `links` is not given). */
  readonly ackUrl?: (deliveryId: string, communicationId: string, now: Date) => string;
  /** Mints a message's recipient links and makes them resolvable before the provider call. */
  readonly links?: LinkIssuer;
  /** Dispatch's replica of the suppression list; without it nothing is suppressed. */
  readonly suppressions?: SuppressionList;
  /** Cancelled communications; without it nothing is cancelled. */
  readonly cancellations?: CancellationList;
  readonly retry: RetryPolicy;
  /** Provider calls in flight at once, over a batch (default 16). */
  readonly providerConcurrency?: number;
  readonly logger: Logger;
  /** Waits `ms`; rejects if `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborted at shutdown: no new provider call is started after it. */
  readonly signal: AbortSignal;
  readonly clock?: () => Date;
}

/** What a message's links are minted from. */
export interface LinkRequest {
  readonly deliveryId: string;
  readonly communicationId: string;
  readonly channel: ChannelName;
  readonly content: MessageContent;
  readonly now: Date;
}

/** Mints recipient links (signed tokens, SMS short codes) for one message. */
export interface LinkIssuer {
  /**
   * The links of one message. Resolves only once everything feedback-link needs to resolve them
   * (short codes, the page content) is durable, so a link works the moment the message arrives.
   */
  issue(request: LinkRequest): Promise<MessageLinks>;
  /** The links of several messages, in order, made durable together (as {@link issue} does for one). */
  issueMany(requests: readonly LinkRequest[]): Promise<MessageLinks[]>;
}

/** Dispatch's own replica of the suppression list (opt-outs, complaints, permanent bounces). */
export interface SuppressionList {
  /** True when the address is suppressed on that channel. */
  isSuppressed(channel: ChannelName, address: string): Promise<boolean>;
  /**
   * Notes the suppression key of the address a delivery record goes to, so that an opt-out or
   * complaint about the record (which names only its ID) suppresses the address.
   */
  remember(deliveryId: string, channel: ChannelName, address: string): Promise<void>;
  /** For each address, in order, whether it is suppressed on its channel (one read for all). */
  suppressedAmong(items: readonly { channel: ChannelName; address: string }[]): Promise<boolean[]>;
  /** {@link remember} for several delivery records, in one write. */
  rememberMany(items: readonly { deliveryId: string; channel: ChannelName; address: string }[]): Promise<void>;
}

/** The communications operators cancelled: nothing more of them is handed to a provider. */
export interface CancellationList {
  /** Reads whether these communications are cancelled (the store, not a cache): called before each batch. */
  refresh(communicationIds: readonly string[]): Promise<void>;
  /** True when the communication is known to be cancelled (memory only: asked before every provider call). */
  isCancelled(communicationId: string): boolean;
}

/** The text of a Not Sent `cancelled`. */
export const CANCELLED_TEXT = 'the communication was cancelled before this message was handed to a provider';

/** The text of a Not Sent `suppressed`. */
export const SUPPRESSED_TEXT = 'the address is on the suppression list (opt-out, complaint or permanent bounce)';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Runs the work of the request at `index` of a batch in that request's own context (the consumer's
 * trace span of its message), so each message's provider call and event stay in its trace.
 */
export type ItemScope = <R>(index: number, work: () => Promise<R>) => Promise<R>;

/** How one request of a batch ended. */
export type SendOutcome =
  /** Its result is stored and published (or it was a repeat of one that is): acknowledge it. */
  | { readonly kind: 'done' }
  /** It can never be processed: dead-letter it. */
  | { readonly kind: 'invalid'; readonly error: InvalidSendRequestError }
  /** Not now (store, NATS, another handler, shutdown): deliver it again later. */
  | { readonly kind: 'retry'; readonly error: unknown };

/** One valid request of a batch on its way through. */
interface Item {
  readonly index: number;
  readonly request: SendRequested;
  readonly channel: ChannelName;
  readonly doc: AttemptDoc;
  readonly log: Logger;
  readonly hasAddress: boolean;
  suppressed?: boolean;
  cancelled?: boolean;
  message?: OutboundMessage;
}

/**
 * Sends `SendRequested`s, a batch at a time: one read of the batch's suppressions, one write of its
 * address keys, its links minted together, one write of its attempts — recorded before any provider
 * call, so a repeat never sends twice — provider calls in parallel (at most `providerConcurrency`),
 * one write of the results, then Sent / Not Sent published together. Idempotent per
 * `<deliveryId>:<attempt>`. Never logs an address, subject, body or provider text.
 */
export class Dispatcher {
  private readonly clock: () => Date;
  private readonly providerConcurrency: number;

  constructor(private readonly deps: DispatcherDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.providerConcurrency = deps.providerConcurrency ?? 16;
  }

  /**
   * Handles one request. Throws {@link InvalidSendRequestError} (dead-letter),
   * {@link AttemptInFlightError} / {@link DispatchStoppedError} (retry later), or a store/publish
   * error (retry later); resolves once the result event is stored in JetStream.
   */
  async handle(request: SendRequested): Promise<void> {
    const [outcome] = await this.handleBatch([request]);
    if (outcome !== undefined && outcome.kind !== 'done') throw outcome.error;
  }

  /**
   * Handles a batch; resolves with one outcome per request, in order, once every `done` request's
   * result event is stored in JetStream. Never throws: a failure of a step the whole batch shares
   * is a `retry` of every request it touched.
   */
  async handleBatch(
    requests: readonly SendRequested[],
    scope: ItemScope = (_, work) => work(),
  ): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
    const now = this.clock();
    const items: Item[] = [];
    // The same attempt twice in one batch is handled once; its copies share the outcome.
    const firstOf = new Map<string, number>();
    const copies: [copy: number, first: number][] = [];
    requests.forEach((request, index) => {
      let channel: ChannelName;
      try {
        channel = validate(request);
      } catch (error) {
        outcomes[index] = { kind: 'invalid', error: error as InvalidSendRequestError };
        return;
      }
      const doc: AttemptDoc = {
        _id: attemptId(request.deliveryId, request.attempt),
        deliveryId: request.deliveryId,
        communicationId: request.communicationId,
        attempt: request.attempt,
        channel,
        state: 'sending',
        createdAt: now,
        // Recorded before the call, so an interrupted attempt names the provider that may have it.
        provider: this.deps.providers[channel].name,
      };
      const first = firstOf.get(doc._id);
      if (first !== undefined) {
        copies.push([index, first]);
        return;
      }
      firstOf.set(doc._id, index);
      const log = this.deps.logger.child({
        deliveryId: doc.deliveryId,
        communicationId: doc.communicationId,
        attempt: doc.attempt,
        channel,
      });
      items.push({ index, request, channel, doc, log, hasAddress: request.address.trim() !== '' });
    });
    const settle = (item: Item, outcome: SendOutcome) => (outcomes[item.index] = outcome);
    const timer = stopwatch();
    const phases: Record<string, number> = {};
    let inserted: (boolean | Error)[];
    try {
      inserted = await this.prepare(items, now, phases);
    } catch (error) {
      for (const item of items) settle(item, { kind: 'retry', error });
      inserted = [];
    }
    const toFinish: { item: Item; result: AttemptResult }[] = [];
    const calls: Item[] = [];
    const resumes: Item[] = [];
    inserted.forEach((ok, i) => {
      const item = items[i]!;
      if (ok instanceof Error) settle(item, { kind: 'retry', error: ok });
      else if (!ok) resumes.push(item);
      else if (item.message === undefined) toFinish.push({ item, result: this.notSent(item) });
      else calls.push(item);
    });
    const prepareMs = timer();
    const deadline = now.getTime() + this.deps.retry.budgetMs;
    const resuming = new Set(resumes);
    await forEachLimited([...resumes, ...calls], this.providerConcurrency, async (item) => {
      if (resuming.has(item)) {
        try {
          await scope(item.index, () => this.resume(item.doc._id, item.log, item.message));
          settle(item, { kind: 'done' });
        } catch (error) {
          settle(item, { kind: 'retry', error });
        }
        return;
      }
      try {
        if (this.clock().getTime() >= deadline) {
          // Waited too long for a provider slot: not called, so safe to release for a redelivery.
          throw new SendDeferredError('no provider slot within the time budget; released for a later delivery');
        }
        toFinish.push({ item, result: await scope(item.index, () => this.send(item.message!, now, item.log)) });
      } catch (error) {
        if (error instanceof DispatchStoppedError || error instanceof SendDeferredError) {
          await this.deps.attempts.release(item.doc._id).catch(() => undefined);
        }
        settle(item, { kind: 'retry', error });
      }
    });
    const callsMs = timer();
    if (toFinish.length > 0) {
      let finished: (FinishedAttempt | Error)[];
      try {
        finished = await this.deps.attempts.finishMany(
          toFinish.map(({ item, result }) => ({ doc: item.doc, result })),
          this.clock(),
        );
      } catch (error) {
        finished = toFinish.map(() => (error instanceof Error ? error : new Error(String(error))));
      }
      // Published together; each is acknowledged only once JetStream stored its event.
      await Promise.all(
        toFinish.map(async ({ item }, i) => {
          const doc = finished[i]!;
          if (doc instanceof Error) return settle(item, { kind: 'retry', error: doc });
          try {
            await scope(item.index, () => this.publish(doc, item.log));
            settle(item, { kind: 'done' });
          } catch (error) {
            settle(item, { kind: 'retry', error });
          }
        }),
      );
    }
    for (const [copy, first] of copies) outcomes[copy] = outcomes[first]!;
    if (requests.length > 0) {
      this.deps.logger.info(
        {
          requests: requests.length,
          sent: calls.length,
          resumed: resumes.length,
          retry: outcomes.filter((o) => o.kind === 'retry').length,
          prepareMs,
          ...phases,
          callsMs,
          finishMs: timer(),
        },
        'batch handled',
      );
    }
    return outcomes;
  }

  /**
   * The steps the batch shares, before any provider call: suppressions read, address keys and links
   * written, attempts recorded. Per item: true when its attempt is new, false when it existed.
   */
  private async prepare(items: Item[], now: Date, phases: Record<string, number>): Promise<(boolean | Error)[]> {
    if (items.length === 0) return [];
    const timer = stopwatch();
    // A cancelled communication's messages are recorded Not Sent `cancelled`, never rendered or sent.
    const cancellations = this.deps.cancellations;
    if (cancellations) {
      await cancellations.refresh([...new Set(items.map((i) => i.request.communicationId))]);
      for (const item of items) item.cancelled = cancellations.isCancelled(item.request.communicationId);
      phases.cancellationsMs = timer();
    }
    const withAddress = items.filter((i) => i.hasAddress && i.cancelled !== true);
    // A suppressed address is never handed to a provider: checked against dispatch's own replica.
    const suppressed = this.deps.suppressions
      ? await this.deps.suppressions.suppressedAmong(
          withAddress.map((i) => ({ channel: i.channel, address: i.request.address })),
        )
      : withAddress.map(() => false);
    phases.suppressionsMs = timer();
    withAddress.forEach((item, i) => (item.suppressed = suppressed[i] === true));
    const sendable = withAddress.filter((i) => i.suppressed !== true);
    for (const item of items) if (item.suppressed === true) item.log.info('address suppressed; not sent');
    // Rendered (and the links minted and made resolvable) before the attempts are recorded: only
    // the provider call lies between recording an attempt and its result.
    // The address keys and the links are independent writes: both at once.
    const [, messages] = await Promise.all([
      this.deps.suppressions?.rememberMany(
        sendable.map((i) => ({ deliveryId: i.request.deliveryId, channel: i.channel, address: i.request.address })),
      ),
      this.renderMany(sendable, now),
    ]);
    sendable.forEach((item, i) => (item.message = messages[i]));
    phases.addressesAndLinksMs = timer();
    const inserted = await this.deps.attempts.insertMany(items.map((i) => i.doc));
    phases.claimsMs = timer();
    return inserted;
  }

  /** The Not Sent result of an item that is not handed to a provider (suppressed, no address). */
  private notSent(item: Item): AttemptResult {
    const provider = this.deps.providers[item.channel].name;
    if (item.cancelled === true) return this.cancelled(provider);
    return item.suppressed === true
      ? { state: 'not_sent', provider, reasonCode: 'suppressed', reasonText: SUPPRESSED_TEXT }
      : { state: 'not_sent', provider, reasonCode: 'invalid_address', reasonText: 'no address for this channel' };
  }

  private cancelled(provider: string): AttemptResult {
    return { state: 'not_sent', provider, reasonCode: 'cancelled', reasonText: CANCELLED_TEXT };
  }

  private isCancelled(communicationId: string): boolean {
    return this.deps.cancellations?.isCancelled(communicationId) === true;
  }

  /**
   * The attempt exists already: re-publish its result, or — its handler died mid-call — send it
   * again through an idempotent provider (which recognises the repeat), or close it as interrupted.
   */
  private async resume(id: string, log: Logger, message: OutboundMessage | undefined): Promise<void> {
    const existing = await this.deps.attempts.get(id);
    if (existing === null) throw new Error(`attempt ${id} was released meanwhile; retrying`);
    if (isFinished(existing)) {
      log.debug({ state: existing.state }, 'attempt already finished; publishing its result again');
      await this.publish(existing, log);
      return;
    }
    const now = this.clock();
    if (now.getTime() - existing.createdAt.getTime() < this.deps.retry.staleAfterMs) {
      throw new AttemptInFlightError(`attempt ${id} is being sent by another handler`);
    }
    const provider = this.deps.providers[existing.channel];
    if (
      message !== undefined &&
      !this.isCancelled(existing.communicationId) &&
      provider.idempotent === true &&
      (existing.provider ?? provider.name) === provider.name
    ) {
      // The provider may have accepted it; asking again with the same idempotency key is safe.
      log.warn('attempt was interrupted during a provider call; asking the idempotent provider again');
      const result = await this.send(message, now, log);
      await this.publish(await this.deps.attempts.finish(existing, result, this.clock()), log);
      return;
    }
    // The provider may or may not have accepted it: never call it again, say so.
    const finished = await this.deps.attempts.finish(
      existing,
      {
        state: 'not_sent',
        provider: existing.provider ?? this.deps.providers[existing.channel].name,
        reasonCode: 'send_interrupted',
        reasonText: SEND_INTERRUPTED_TEXT,
      },
      now,
    );
    log.warn({ state: finished.state }, 'attempt was interrupted during a provider call; not sending again');
    await this.publish(finished, log);
  }

  private async renderMany(items: readonly Item[], now: Date): Promise<OutboundMessage[]> {
    const requests: LinkRequest[] = items.map(({ request, channel }) => ({
      deliveryId: request.deliveryId,
      communicationId: request.communicationId,
      channel,
      content: request.content ?? MessageContent.fromPartial({}),
      now,
    }));
    let links: MessageLinks[];
    if (this.deps.links) {
      links = requests.length === 0 ? [] : await this.deps.links.issueMany(requests);
    } else {
      links = requests.map((r) =>
        r.content.acknowledgementRequested && this.deps.ackUrl
          ? { ack: this.deps.ackUrl(r.deliveryId, r.communicationId, now) }
          : {},
      );
    }
    return items.map(({ request, channel }, i) => ({
      // A personalised message: this recipient's text (the page content above stays the shared one).
      ...renderMessage(channel, request.rendered ?? requests[i]!.content, links[i]!),
      to: request.address,
      deliveryId: request.deliveryId,
      communicationId: request.communicationId,
      attempt: request.attempt,
    }));
  }

  private async send(message: OutboundMessage, started: Date, log: Logger): Promise<AttemptResult> {
    const sender = this.deps.providers[message.channel];
    const provider = sender.name;
    const { retry } = this.deps;
    const deadline = started.getTime() + retry.budgetMs;
    const wanted = () => !this.isCancelled(message.communicationId);
    for (let call = 1; ; call++) {
      if (this.deps.signal.aborted) throw new DispatchStoppedError('dispatch is stopping');
      // Cancelled meanwhile (the batch waited for call slots, tokens or a retry): never handed over.
      if (!wanted()) return this.cancelled(provider);
      const remaining = deadline - this.clock().getTime();
      try {
        const { providerMessageId } = await sender.send(message, {
          timeoutMs: Math.max(1, Math.min(retry.callTimeoutMs, remaining)),
          // A call that would start this late has too little time left to be worth making.
          startWithinMs: Math.max(0, remaining - Math.min(1_000, retry.callTimeoutMs)),
          stillWanted: wanted,
        });
        log.debug({ provider, providerMessageId, calls: call }, 'sent');
        return { state: 'sent', provider, providerMessageId };
      } catch (error) {
        if (error instanceof ProviderRejectedError) {
          log.info({ provider, code: error.code, calls: call }, 'provider rejected the message');
          return {
            state: 'not_sent',
            provider,
            reasonCode: 'provider_rejected',
            reasonText: error.text,
            providerEventType: error.code,
          };
        }
        if (error instanceof CallNotStartedError) {
          if (!wanted()) return this.cancelled(provider);
          // Never seen by the provider: the first call can be deferred (its attempt released).
          if (call === 1) throw new SendDeferredError(error.message, error);
          log.warn({ provider, calls: call - 1 }, 'provider unavailable; no time left for another call');
          return {
            state: 'not_sent',
            provider,
            reasonCode: 'provider_unavailable',
            reasonText: `the provider stayed unavailable (after ${call - 1} ${call === 2 ? 'try' : 'tries'})`,
          };
        }
        if (!(error instanceof ProviderUnavailableError)) throw error;
        // A provider's Retry-After lengthens the wait; the time budget below still bounds it.
        const delay = Math.max(retry.delayMs(call), error.retryAfterMs ?? 0);
        const timeLeft = deadline - this.clock().getTime() - delay;
        if (call > retry.maxRetries || timeLeft < Math.min(1_000, retry.callTimeoutMs)) {
          log.warn({ provider, kind: error.kind, calls: call }, 'provider unavailable; giving up');
          return {
            state: 'not_sent',
            provider,
            reasonCode: 'provider_unavailable',
            reasonText: `${error.message} (after ${call} ${call === 1 ? 'try' : 'tries'})`,
            providerEventType: error.kind,
          };
        }
        log.debug({ provider, kind: error.kind, call, delay }, 'provider unavailable; retrying');
        try {
          await this.deps.sleep(delay, this.deps.signal);
        } catch {
          throw new DispatchStoppedError('dispatch is stopping');
        }
      }
    }
  }

  private async publish(doc: FinishedAttempt, log: Logger): Promise<void> {
    await this.deps.events.publish(attemptEvent(doc));
    log.debug({ state: doc.state, reasonCode: doc.reasonCode }, 'result published');
  }
}

function validate(request: SendRequested): ChannelName {
  const problems: string[] = [];
  if (!ID.test(request.deliveryId)) problems.push('delivery_id: must be a URL-safe ID');
  if (!ID.test(request.communicationId)) problems.push('communication_id: must be a URL-safe ID');
  if (!Number.isInteger(request.attempt) || request.attempt < 1) problems.push('attempt: must be 1 or more');
  const channel: ChannelName | undefined = channelName(request.channel);
  if (channel === undefined) problems.push('channel: must be email or sms');
  if (problems.length > 0 || channel === undefined) throw new InvalidSendRequestError(problems.join('; '));
  return channel;
}

/** Runs `work` over `items` with at most `limit` in flight; resolves when all have settled. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Each call returns the ms since the previous one (or since it was made). */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round(now - last);
    last = now;
    return ms;
  };
}
