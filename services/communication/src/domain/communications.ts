import { setTimeout as sleep } from 'node:timers/promises';
import { FailedPreconditionError, NotFoundError, type Logger } from '@dlr/core';
import { isInSend, isPublished, type CommunicationDoc, type DeliveryDoc } from './model.js';
import type { CommunicationEvents, CommunicationStore, DraftStore } from './ports.js';
import {
  newCommunicationId,
  planDeliveries,
  validateCreate,
  type CreateInput,
  type RecipientRow,
} from './validation.js';
import type { PhoneRules } from './phone.js';

/** How many send requests are published concurrently during a fan-out. */
const FAN_OUT_WINDOW = 256;
/** Longest wait between two tries of an interrupted fan-out. */
const FAN_OUT_MAX_DELAY_MS = 15_000;

/** The communication use cases: create, add recipients, send (fan-out of send requests). */
export class Communications {
  private readonly fanOuts = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly store: CommunicationStore,
    private readonly events: CommunicationEvents,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
    /** How recipients' phone numbers are read (also the console's CSV check). */
    readonly phoneRules: PhoneRules = {},
    private readonly drafts?: Pick<DraftStore, 'clearRemoval'>,
  ) {}

  /** Creates a draft. Throws InvalidArgumentError listing every problem. */
  async create(input: CreateInput): Promise<CommunicationDoc> {
    const valid = validateCreate(input);
    const doc: CommunicationDoc = {
      _id: newCommunicationId(),
      ...valid,
      state: 'draft',
      createdAt: this.clock(),
      recipientsRevision: 0,
      deliveryCount: 0,
    };
    await this.store.insertCommunication(doc);
    this.logger.info({ communicationId: doc._id, channels: doc.channels }, 'communication created');
    return doc;
  }

  /** Reads one communication with its delivery count. Throws NotFoundError. */
  async get(id: string): Promise<{ communication: CommunicationDoc; deliveryCount: number }> {
    const communication = await this.require(id);
    return { communication, deliveryCount: communication.deliveryCount ?? (await this.store.countDeliveries(id)) };
  }

  /**
   * Adds a batch of recipients to a draft; idempotent per recipient × channel. Every delivery of the
   * batch (new or already there) is announced again, so a client retrying after a failure heals a
   * lost announcement. Throws InvalidArgumentError (nothing added), NotFoundError, FailedPreconditionError.
   */
  async addRecipients(communicationId: string, rows: readonly RecipientRow[]) {
    const communication = await this.require(communicationId);
    if (communication.state !== 'draft') {
      throw new FailedPreconditionError(
        `communication ${communicationId} was already sent; recipients can only be added to a draft`,
      );
    }
    const now = this.clock();
    const plan = planDeliveries(communication, rows, now, this.phoneRules);
    // Adding again a recipient whose removal was interrupted takes it out of the removal.
    const pending = new Set(communication.pendingRemoval ?? []);
    const readded = [...new Set(plan.deliveries.map((d) => d.recipientKey))].filter((k) => pending.has(k));
    if (readded.length > 0) await this.drafts?.clearRemoval(communicationId, readded);
    // Raised before (a summary started earlier is out of date) and after (so is one started meanwhile).
    await this.store.recipientsChanged(communicationId, 0);
    const { existingIds } = await this.store.insertDeliveries(plan.deliveries);
    await this.store.recipientsChanged(communicationId, plan.deliveries.length - existingIds.length);
    // A repeat keeps what was stored first: announce the stored versions of existing deliveries.
    const existing = existingIds.length > 0 ? await this.store.getDeliveries(existingIds) : [];
    const stored = new Map(existing.map((d) => [d._id, d]));
    // A channel the recipient opted out of is held back (not announced, never sent) unless overridden;
    // a recipient unreachable on every channel is announced all the same (the report shows Not Sent).
    const announced = plan.deliveries.map((d) => stored.get(d._id) ?? d).filter((d) => isPublished(d, communication));
    if (announced.length > 0) await this.events.recipientsAdded(communication, announced, now);
    const created = plan.deliveries.length - existingIds.length;
    this.logger.info(
      { communicationId, rows: rows.length, deliveries: plan.deliveries.length, created },
      'recipients added',
    );
    return { perRow: plan.perRow, createdCount: created };
  }

  /**
   * Sends a communication: draft → sending, then one send request per delivery, then sent.
   * Idempotent: a repeat while sending or after sent changes nothing. Returns once the fan-out has
   * started; it continues in the background (and resumes after a restart, see {@link resume}).
   */
  async send(communicationId: string): Promise<CommunicationDoc> {
    const communication = await this.require(communicationId);
    if (communication.state === 'draft') {
      if ((await this.store.countDeliveries(communicationId)) === 0) {
        throw new FailedPreconditionError(
          `communication ${communicationId} has no recipients; add recipients before sending`,
        );
      }
      const moved = await this.store.transition(communicationId, 'draft', 'sending', this.clock());
      if (moved) {
        this.logger.info({ communicationId }, 'send started');
        this.startFanOut(moved);
        return moved;
      }
      return this.require(communicationId); // another call won the race
    }
    return communication;
  }

  /** Restarts fan-outs that a previous process left unfinished. */
  async resume(): Promise<void> {
    for (const id of await this.store.listSending()) {
      const communication = await this.store.getCommunication(id);
      if (communication?.state === 'sending') {
        this.logger.warn({ communicationId: id }, 'resuming an unfinished send');
        this.startFanOut(communication);
      }
    }
  }

  /** Waits for a running fan-out (tests and shutdown). */
  async settled(communicationId: string): Promise<void> {
    await this.fanOuts.get(communicationId);
  }

  /** Stops fan-outs at the next message; they resume on the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.fanOuts.values()]);
  }

  private startFanOut(communication: CommunicationDoc): void {
    if (this.fanOuts.has(communication._id)) return;
    const run = this.fanOutUntilDone(communication).finally(() => this.fanOuts.delete(communication._id));
    this.fanOuts.set(communication._id, run);
  }

  /**
   * Runs the fan-out to its end: a store or NATS outage is retried from the start, with backoff, for
   * as long as it lasts (repeats are harmless: dispatch is idempotent per delivery attempt). Only a
   * stop ends it early; the communication stays `sending` and {@link resume} picks it up.
   */
  private async fanOutUntilDone(communication: CommunicationDoc): Promise<void> {
    const communicationId = communication._id;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.fanOut(communication);
        if (attempt > 1)
          this.logger.info({ communicationId, attempts: attempt }, 'send fan-out finished after retries');
        return;
      } catch (error) {
        if (this.abort.signal.aborted) {
          this.logger.info({ communicationId }, 'send fan-out stopped; it resumes on the next start');
          return;
        }
        const delay = Math.min(FAN_OUT_MAX_DELAY_MS, 500 * 2 ** Math.min(attempt - 1, 8));
        // Once, then every 10th attempt: an outage of minutes must not flood the log.
        if (attempt === 1 || attempt % 10 === 0) {
          this.logger.warn(
            { communicationId, attempt, delay, err: String(error) },
            'send fan-out interrupted; retrying',
          );
        }
        await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  private async fanOut(communication: CommunicationDoc): Promise<void> {
    const started = Date.now();
    const inFlight = new Set<Promise<void>>();
    let published = 0;
    let failure: Error | undefined;
    if (communication.preferenceOverride) await this.announceOverridden(communication);
    for await (const delivery of this.store.streamDeliveries(communication._id)) {
      if (this.abort.signal.aborted) throw new Error('stopping');
      if (failure !== undefined) break;
      if (!isPublished(delivery, communication) || !isInSend(delivery, communication)) continue;
      const p = this.events.sendRequested(communication, delivery, 1, this.clock()).then(
        () => {
          published++;
          inFlight.delete(p);
        },
        (error: unknown) => {
          failure = error instanceof Error ? error : new Error('publish failed', { cause: error });
          inFlight.delete(p);
        },
      );
      inFlight.add(p);
      if (inFlight.size >= FAN_OUT_WINDOW) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    await this.store.transition(communication._id, 'sending', 'sent', this.clock());
    this.logger.info(
      { communicationId: communication._id, published, ms: Date.now() - started },
      'send requests published',
    );
  }

  /**
   * Announces the deliveries an override of preferences released (recipients opted out of the
   * channel). Repeats are harmless (deduplicated batches, idempotent reporting), so the send's
   * fan-out calls it again to heal an override whose announcement was interrupted.
   */
  async announceOverridden(communication: CommunicationDoc): Promise<number> {
    let batch: DeliveryDoc[] = [];
    let count = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await this.events.recipientsAdded(communication, batch, communication.preferenceOverride?.at ?? this.clock());
      count += batch.length;
      batch = [];
    };
    for await (const delivery of this.store.streamDeliveries(communication._id)) {
      if (delivery.optedOut !== true || !isInSend(delivery, communication)) continue;
      batch.push(delivery);
      if (batch.length >= 500) await flush();
    }
    await flush();
    return count;
  }

  private async require(id: string): Promise<CommunicationDoc> {
    const doc = id === '' ? null : await this.store.getCommunication(id);
    if (!doc) throw new NotFoundError(`communication ${id || '(empty id)'} not found`);
    return doc;
  }
}
