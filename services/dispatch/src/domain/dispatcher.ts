import { channelName, MessageContent, type SendRequested } from '@dlr/contracts';
import type { Logger } from '@dlr/platform';
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
  readonly retry: RetryPolicy;
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
}

/** The text of a Not Sent `suppressed`. */
export const SUPPRESSED_TEXT = 'the address is on the suppression list (opt-out, complaint or permanent bounce)';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Sends one `SendRequested`: records the attempt before calling the provider (so a repeat never
 * sends twice), calls the provider with retries, records the result and publishes Sent / Not Sent.
 * Idempotent per `<deliveryId>:<attempt>`. Never logs an address, subject, body or provider text.
 */
export class Dispatcher {
  private readonly clock: () => Date;

  constructor(private readonly deps: DispatcherDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Handles one request. Throws {@link InvalidSendRequestError} (dead-letter),
   * {@link AttemptInFlightError} / {@link DispatchStoppedError} (retry later), or a store/publish
   * error (retry later); resolves once the result event is stored in JetStream.
   */
  async handle(request: SendRequested): Promise<void> {
    const channel = validate(request);
    const now = this.clock();
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
    const log = this.deps.logger.child({
      deliveryId: doc.deliveryId,
      communicationId: doc.communicationId,
      attempt: doc.attempt,
      channel,
    });
    // A suppressed address is never handed to a provider: checked against dispatch's own replica.
    const hasAddress = request.address.trim() !== '';
    const suppressed = hasAddress && (await this.deps.suppressions?.isSuppressed(channel, request.address)) === true;
    // Rendered (and the links minted and made resolvable) before the attempt is recorded: only the
    // provider call lies between recording the attempt and its result.
    let message: OutboundMessage | undefined;
    if (hasAddress && !suppressed) {
      await this.deps.suppressions?.remember(request.deliveryId, channel, request.address);
      message = await this.render(request, channel, now);
    }
    if (!(await this.deps.attempts.insert(doc))) {
      await this.resume(doc._id, log, message);
      return;
    }
    let result: AttemptResult;
    try {
      if (suppressed) log.info('address suppressed; not sent');
      result = suppressed
        ? {
            state: 'not_sent',
            provider: this.deps.providers[channel].name,
            reasonCode: 'suppressed',
            reasonText: SUPPRESSED_TEXT,
          }
        : message === undefined
          ? {
              state: 'not_sent',
              provider: this.deps.providers[channel].name,
              reasonCode: 'invalid_address',
              reasonText: 'no address for this channel',
            }
          : await this.send(message, now, log);
    } catch (error) {
      if (error instanceof DispatchStoppedError) await this.deps.attempts.release(doc._id);
      throw error;
    }
    const finished = await this.deps.attempts.finish(doc, result, this.clock());
    await this.publish(finished, log);
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

  private async render(request: SendRequested, channel: ChannelName, now: Date): Promise<OutboundMessage> {
    const content = request.content ?? MessageContent.fromPartial({});
    let links: MessageLinks = {};
    if (this.deps.links) {
      links = await this.deps.links.issue({
        deliveryId: request.deliveryId,
        communicationId: request.communicationId,
        channel,
        content,
        now,
      });
    } else if (content.acknowledgementRequested && this.deps.ackUrl) {
      links = { ack: this.deps.ackUrl(request.deliveryId, request.communicationId, now) };
    }
    return {
      ...renderMessage(channel, content, links),
      to: request.address,
      deliveryId: request.deliveryId,
      communicationId: request.communicationId,
      attempt: request.attempt,
    };
  }

  private async send(message: OutboundMessage, started: Date, log: Logger): Promise<AttemptResult> {
    const sender = this.deps.providers[message.channel];
    const provider = sender.name;
    const { retry } = this.deps;
    const deadline = started.getTime() + retry.budgetMs;
    for (let call = 1; ; call++) {
      if (this.deps.signal.aborted) throw new DispatchStoppedError('dispatch is stopping');
      const remaining = deadline - this.clock().getTime();
      try {
        const { providerMessageId } = await sender.send(message, {
          timeoutMs: Math.max(1, Math.min(retry.callTimeoutMs, remaining)),
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
