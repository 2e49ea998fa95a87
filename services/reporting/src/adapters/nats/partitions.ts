// Second stage of the projection: one worker per partition of delivery records. JetStream pins each
// partition's consumer to one client (priority policy `pinned_client`), so across all replicas a
// partition has one writer at a time; the worker handles its messages in batches, one batch at a
// time. A batch: read the records by `_id`, project in memory, replace the records, add the count
// changes, publish the status changes, ack. If the previous owner stopped uncleanly, the worker
// first rebuilds the partition's counts from its records and republishes the records' last changes
// (deduplicated by `Nats-Msg-Id`, and versioned). If a batch fails after it may have written, its
// retry stores its records again and then recounts: only once the retry's fenced record writes have
// landed can no write of the failed attempt (a frozen store runs them late) still change a record.
//
// Stopping (SIGTERM may come at any moment, even during a recount): no batch or takeover starts
// after `stop()`, store steps are no longer retried, and what the worker held goes back to JetStream
// (nak). A store call already running gets a short grace; a worker interrupted before it finished a
// takeover or a batch leaves its lease unclean, so the partition's next owner recounts it.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodePersonErased,
  MAX_DELIVER,
  partitionOf,
  REPORTING_PARTITIONS,
  REPORTING_PRIORITY_GROUP,
  reportingPartitionConsumer,
  streamNames,
  subjects,
} from '@dlr/contracts';
import {
  backoffDelay,
  isTransient,
  markFailed,
  publishDurable,
  retry,
  startConsumerSpan,
  type ConsumerHandle,
  type Logger,
  type NatsHandle,
} from '@dlr/platform';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { CountDeltas, moveDayCounts, project, type StatusChange, type WorkItem } from '../../domain/projection.js';
import { WriteConflictError, type LoadedRecord, type RecordsRepository } from '../mongo/records.js';
import { decodeDeliveryEvent, decodeRecipientsAdded, decodeRecipientsRemoved } from './decode.js';

/** Publishes status changes; resolves once JetStream stored them. */
export interface StatusChangePublisher {
  publish(changes: readonly StatusChange[]): Promise<void>;
}

/** Options of {@link startPartitionWorkers}. */
export interface PartitionOptions {
  readonly nats: NatsHandle;
  readonly namespace: string;
  readonly repo: RecordsRepository;
  readonly changes: StatusChangePublisher;
  readonly logger: Logger;
  /** Most work items handled in one batch. */
  readonly batchSize: number;
  /** Told the counts keys (communications, day buckets) of every batch whose counts were written. */
  readonly onCounted?: (keys: Iterable<string>) => void;
  readonly now?: () => Date;
  /**
   * How long `stop()` waits for the store: for the call running when it is called, then for the
   * write that marks the lease clean (default 1 s; the lease write gets at least a quarter of it).
   */
  readonly stopGraceMs?: number;
}

/** Thrown inside a worker that was told to stop, to leave the batch or takeover it was in. */
class StoppingError extends Error {
  override readonly name = 'StoppingError';
  constructor() {
    super('the partition worker is stopping');
  }
}

/** Starts a worker for every partition; the server decides which ones this replica owns. */
export async function startPartitionWorkers(options: PartitionOptions): Promise<ConsumerHandle> {
  const owner = randomUUID();
  const started = await Promise.allSettled(
    Array.from({ length: REPORTING_PARTITIONS }, (_, p) => PartitionWorker.start(p, owner, options)),
  );
  const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    // No worker is left consuming when the others could not start.
    await Promise.all(workers.map((w) => w.stop()));
    throw failed.reason;
  }
  return { stop: async () => void (await Promise.all(workers.map((w) => w.stop()))) };
}

/** The worker of one partition. */
class PartitionWorker {
  readonly #partition: number;
  readonly #owner: string;
  readonly #options: PartitionOptions;
  readonly #logger: Logger;
  readonly #messages: ConsumerMessages;
  readonly #buffer: JsMsg[] = [];
  /** The batch the loop is working on. */
  #inHand: readonly JsMsg[] = [];
  #wake: (() => void) | undefined;
  /** Set by `stop()`: no batch or takeover starts any more. */
  #closed = false;
  /** Aborted by `stop()`: cuts retries and their backoff waits short. */
  readonly #abort = new AbortController();
  #stopped: Promise<void> | undefined;
  /** True once the server delivered to this replica (it pinned the partition here) and until it unpins it. */
  #pinned = false;
  /** True while this replica holds the partition and has checked its consistency. */
  #owned = false;
  /** Messages of the batch in hand already dead-lettered or moved: a retried batch skips them. */
  readonly #finished = new WeakSet<JsMsg>();
  /** Set when a batch failed after it may have written: its retry recounts and republishes. */
  #dirty = false;
  /** This owner's partition epoch (see `addCounts`), raised at each takeover and recount. */
  #epoch = 0;
  #loop: Promise<void> = Promise.resolve();
  #pump: Promise<void> = Promise.resolve();

  private constructor(partition: number, owner: string, options: PartitionOptions, messages: ConsumerMessages) {
    this.#partition = partition;
    this.#owner = owner;
    this.#options = options;
    this.#messages = messages;
    this.#logger = options.logger.child({ partition });
  }

  static async start(partition: number, owner: string, options: PartitionOptions): Promise<PartitionWorker> {
    const consumer = await options.nats.js.consumers.get(
      streamNames(options.namespace).reportingWork,
      reportingPartitionConsumer(partition),
    );
    // Pull requests expire every 10 s, so an idle owner re-pulls well within the pin's timeout.
    const messages = await consumer.consume({
      max_messages: options.batchSize * 2,
      expires: 10_000,
      group: REPORTING_PRIORITY_GROUP,
    });
    const worker = new PartitionWorker(partition, owner, options, messages);
    const died = (what: string) => (error: unknown) =>
      worker.#logger.error({ err: String(error) }, `partition ${what} stopped unexpectedly`);
    worker.#pump = worker.#runPump();
    worker.#pump.catch(died('consumer'));
    worker.#loop = worker.#runLoop();
    worker.#loop.catch(died('worker'));
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === 'consumer_unpinned') {
          worker.#owned = false;
          worker.#pinned = false;
          worker.#logger.info('partition unpinned from this replica');
        }
      }
    })().catch(() => undefined);
    return worker;
  }

  /**
   * Stops taking messages and hands back (nak) what it has not finished; the batch or takeover in
   * hand ends at its next store step (the step already running gets {@link PartitionOptions.stopGraceMs}).
   * Marks the lease clean only when the partition's data is consistent, then releases the partition.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    this.#wake?.();
    await this.#messages.close().catch(() => undefined);
    await this.#pump.catch(() => undefined);
    const graceMs = this.#options.stopGraceMs ?? 1_000;
    const deadline = Date.now() + graceMs;
    const settled = await settledWithin(this.#loop, graceMs);
    for (const msg of this.#buffer.splice(0)) msg.nak();
    if (!settled) {
      // A store call (a recount, a bulk write) is still running. Its batch goes back to JetStream;
      // the lease stays unclean, so the next owner recounts; and the partition stays pinned here
      // (until the pin times out) so that no other replica writes it while that call may still land.
      for (const msg of this.#inHand) msg.nak();
      this.#logger.warn({ graceMs }, 'stopped during a store call; the next owner of the partition recounts it');
      return;
    }
    if (this.#owned && !this.#dirty) {
      // On a busy store this write waits behind the other partitions' writes: bounded too.
      const released = this.#options.repo
        .setPartitionLease(this.#partition, this.#owner, true, this.#now(), this.#epoch)
        .catch((error: unknown) => this.#logger.warn({ err: String(error) }, 'could not release the partition lease'));
      if (!(await settledWithin(released, Math.max(deadline - Date.now(), graceMs / 4)))) {
        // The clean mark may still land (the data is consistent either way), so no early hand-over:
        // it must not land on a new owner's lease. The pin times out instead.
        this.#logger.warn(
          { graceMs },
          'stopped before the partition lease was released; left pinned until it times out',
        );
        return;
      }
    }
    if (this.#pinned) {
      // Hand the partition to another replica now rather than after the pin times out.
      const { jsm } = this.#options.nats;
      await jsm.consumers
        .unpin(
          streamNames(this.#options.namespace).reportingWork,
          reportingPartitionConsumer(this.#partition),
          REPORTING_PRIORITY_GROUP,
        )
        .catch((error: unknown) => this.#logger.warn({ err: String(error) }, 'could not unpin the partition'));
    }
    this.#owned = false;
    this.#pinned = false;
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  /** Throws a {@link StoppingError} once `stop()` was called. */
  #checkOpen(): void {
    if (this.#closed) throw new StoppingError();
  }

  async #runPump(): Promise<void> {
    // Runs until the subscription ends (`close()` ends it after what was already delivered).
    for await (const msg of this.#messages) {
      this.#pinned = true;
      if (this.#closed) {
        msg.nak(); // delivered while stopping: straight back, not after the ack wait
        continue;
      }
      // Taken into the buffer at once, however far behind the loop is: nats.js keeps pulling as
      // messages arrive (bounded by the consumer's max_ack_pending), and only what is in the buffer
      // is kept alive; left in the client's queue behind a slow store they were redelivered.
      this.#buffer.push(msg);
      this.#wake?.();
    }
  }

  async #runLoop(): Promise<void> {
    while (!this.#closed) {
      if (this.#buffer.length === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const batch = this.#buffer.splice(0, this.#options.batchSize);
      this.#inHand = batch;
      // A slow store must not make JetStream redeliver the batch in hand or the messages waiting
      // behind it: extend their ack wait while they are here.
      const keepAlive = setInterval(() => {
        for (const msg of batch) msg.working();
        for (const msg of this.#buffer) msg.working();
      }, 15_000);
      try {
        await this.#handleUntilDone(batch);
      } finally {
        clearInterval(keepAlive);
        this.#inHand = [];
      }
    }
  }

  /**
   * Handles one batch. A transient failure (store or NATS down or timed out) is retried in place,
   * the batch kept alive by the loop, for as long as it lasts: nak'ing would grow the delivery count
   * until the batch is dead-lettered. Other failures nak with backoff; stopping naks at once.
   */
  async #handleUntilDone(batch: readonly JsMsg[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.#owned) await this.#takeOver();
        this.#checkOpen();
        await this.#handle(batch);
        if (attempt > 1) this.#logger.info({ attempts: attempt }, 'batch handled after the store came back');
        return;
      } catch (error) {
        if (this.#closed) {
          // Interrupted by stop (or failed while stopping): redelivered later, to whoever owns the
          // partition then. `#dirty`/`#owned` say whether the data is consistent.
          for (const msg of batch) msg.nak();
          this.#logger.info(
            { messages: batch.length, dirty: this.#dirty, err: String(error) },
            'batch handed back: stopping',
          );
          return;
        }
        // A fenced write that lost to a newer one changed nothing: retried in place, re-reading.
        if (isTransient(error) || error instanceof WriteConflictError) {
          const delay = backoffDelay(attempt, 200, 10_000);
          // Once, then every 10th attempt: an outage of minutes must not flood the log.
          if (attempt === 1 || attempt % 10 === 0) {
            this.#logger.warn(
              { err: String(error), messages: batch.length, attempt, delay },
              'store or NATS unavailable; retrying the batch in place',
            );
          }
          const waited = await sleep(delay, true, { signal: this.#abort.signal }).catch(() => false);
          if (waited) continue;
          for (const msg of batch) msg.nak();
          return;
        }
        const deliveries = Math.max(...batch.map((m) => m.info.deliveryCount));
        const delay = backoffDelay(deliveries, 500, 30_000);
        this.#logger.warn(
          { err: String(error), messages: batch.length, attempt: deliveries, delay },
          'batch failed; retrying',
        );
        for (const msg of batch) if (!this.#finished.has(msg)) msg.nak(delay);
        return;
      }
    }
  }

  /**
   * Makes the partition's data consistent before writing to it: after an unclean stop (or a failed
   * batch) its counts may lag its records and its last status changes may be unpublished.
   */
  async #takeOver(): Promise<void> {
    const lease = await this.#options.repo.partitionLease(this.#partition);
    this.#checkOpen();
    this.#epoch = Math.max(this.#epoch, lease?.epoch ?? 0) + 1;
    // A lease of our own (the partition came back to us) is as consistent as we left it.
    const uncleanStop = lease !== undefined && !lease.clean && lease.owner !== this.#owner;
    if (this.#dirty || uncleanStop) await this.#reconcile(this.#dirty ? 'a failed batch' : 'an unclean stop');
    else await this.#options.repo.setPartitionLease(this.#partition, this.#owner, false, this.#now(), this.#epoch);
    this.#owned = true;
  }

  /**
   * Rebuilds the partition's counts from its records under a new epoch (so a counts write of an older
   * one can no longer land) and republishes the records' last status changes.
   */
  async #reconcile(after: string): Promise<void> {
    const { repo } = this.#options;
    const started = Date.now();
    this.#epoch += 1;
    // The lease first: a takeover after a crash from here on starts above this epoch.
    await repo.setPartitionLease(this.#partition, this.#owner, false, this.#now(), this.#epoch);
    this.#checkOpen();
    const records = await repo.recount(this.#partition, this.#now(), this.#epoch);
    this.#checkOpen();
    let republished = 0;
    for await (const changes of repo.pendingChanges(this.#partition)) {
      this.#checkOpen();
      await this.#options.changes.publish(changes);
      republished += changes.length;
    }
    this.#logger.warn(
      { records, republished, ms: Date.now() - started, after },
      'partition recounted and its last status changes republished',
    );
    this.#checkOpen();
    this.#dirty = false;
  }

  async #handle(batch: readonly JsMsg[]): Promise<void> {
    // Each message's span continues its publisher's trace (a provider callback, a send) and lasts
    // until the batch that holds it is written and acknowledged.
    const consumer = reportingPartitionConsumer(this.#partition);
    const spans = batch.map((msg) => startConsumerSpan(msg, consumer).span);
    try {
      await this.#handleTraced(batch);
    } catch (error) {
      for (const span of spans) markFailed(span, error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  async #handleTraced(batch: readonly JsMsg[]): Promise<void> {
    const items = new Map<string, WorkItem[]>();
    const good: JsMsg[] = [];
    for (const msg of batch) {
      if (this.#finished.has(msg)) continue;
      let decoded: { id: string; item: WorkItem }[];
      try {
        decoded = decodeWork(msg);
      } catch (error) {
        await this.#deadLetter(msg, `undecodable payload: ${String(error)}`);
        continue;
      }
      // Events reach the work queue by the subject their publisher chose; one whose record belongs to
      // another partition goes there, so that a record never has two writers.
      const elsewhere = decoded.find(({ id }) => partitionOf(id) !== this.#partition);
      if (elsewhere !== undefined) {
        await this.#reroute(msg, elsewhere);
        continue;
      }
      good.push(msg);
      for (const { id, item } of decoded) {
        const list = items.get(id);
        if (list === undefined) items.set(id, [item]);
        else list.push(item);
      }
    }
    // Also with nothing to project: a retried batch recounts what its failed attempt may have written.
    if (items.size > 0 || this.#dirty) await this.#project(items);
    for (const msg of good) msg.ack();
  }

  async #project(items: Map<string, WorkItem[]>): Promise<void> {
    const { repo } = this.#options;
    const now = this.#now();
    const current = items.size > 0 ? await repo.loadMany([...items.keys()]) : new Map<string, LoadedRecord>();
    const toSave: LoadedRecord[] = [];
    const deltas = new CountDeltas();
    const changes: StatusChange[] = [];
    for (const [id, list] of items) {
      const loaded = current.get(id);
      const result = project(id, this.#partition, loaded?.record, list, now);
      if (result.record === undefined) continue;
      toSave.push({ record: result.record, rev: loaded?.rev ?? 0 });
      deltas.move(result.record.communicationId, result.countedBefore, result.countedAfter);
      moveDayCounts(
        deltas,
        result.record.communicationId,
        { sentAt: loaded?.record.sentAt, key: result.countedBefore },
        { sentAt: result.record.sentAt, key: result.countedAfter },
      );
      changes.push(...result.changes);
    }
    // The retry of a batch that failed after it may have written recounts once its records are in.
    const reconcile = this.#dirty;
    if (toSave.length === 0 && !reconcile) return;
    // From here on a failure leaves records ahead of counts or of published changes. A step whose
    // command surely did not run (the store refused it: FerretDB's SQLite answers "database is
    // locked") is retried on its own, which must not cost a recount of the whole partition; one that
    // may have run (a timeout, a lost connection) fails the batch, whose retry recounts. Once
    // stopping, a failed step is not retried (the signal also ends a backoff wait): the next owner
    // recounts.
    this.#dirty = true;
    const again = <T>(what: string, fn: () => Promise<T>) =>
      retry(fn, {
        attempts: 5,
        initialDelayMs: 100,
        maxDelayMs: 2_000,
        signal: this.#abort.signal,
        retryIf: surelyNotApplied,
        onRetry: (error, attempt, delayMs) =>
          this.#logger.warn({ err: String(error), attempt, delayMs }, `${what} failed; retrying`),
      });
    if (toSave.length > 0) await again('storing records', () => repo.saveMany(toSave));
    if (reconcile) await this.#reconcile('a failed batch');
    else await again('adding counts', () => repo.addCounts(this.#partition, deltas, now, this.#epoch));
    this.#options.onCounted?.(deltas.increments().keys());
    if (changes.length > 0) await again('publishing status changes', () => this.#options.changes.publish(changes));
    this.#dirty = false;
  }

  /** Moves a delivery event to its record's partition (a batch of recipients is never split wrong: dead-lettered). */
  async #reroute(msg: JsMsg, { id, item }: { id: string; item: WorkItem }): Promise<void> {
    if (item.kind !== 'event') {
      await this.#deadLetter(msg, `${item.kind} of another partition (${partitionOf(id)})`);
      return;
    }
    const target = partitionOf(id);
    try {
      await publishDurable(
        this.#options.nats.js,
        subjects(this.#options.namespace).reportingWork(target, 'event'),
        msg.data,
        `event:${item.event.eventId}`,
      );
      msg.ack();
      this.#finished.add(msg);
      this.#logger.warn({ seq: msg.seq, subject: msg.subject, target }, 'event of another partition moved there');
    } catch (error) {
      this.#logger.error(
        { err: String(error), seq: msg.seq },
        'moving an event to its partition failed; will redeliver',
      );
      msg.nak(1_000);
    }
  }

  async #deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const s = subjects(this.#options.namespace);
    const consumer = reportingPartitionConsumer(this.#partition);
    const h = natsHeaders();
    h.set('Dlr-Original-Subject', msg.subject);
    h.set('Dlr-Original-Stream-Seq', String(msg.seq));
    h.set('Dlr-Consumer', consumer);
    h.set('Dlr-Reason', reason.slice(0, 500));
    try {
      await this.#options.nats.js.publish(s.deadLetter(consumer), msg.data, {
        headers: h,
        msgID: `dlq:${consumer}:${msg.seq}`,
      });
      msg.term(reason.slice(0, 200));
      this.#finished.add(msg);
      this.#logger.error({ seq: msg.seq, reason }, 'work item dead-lettered');
    } catch (error) {
      this.#logger.error({ err: String(error), seq: msg.seq }, 'dead-letter publish failed; will redeliver');
      msg.nak(1_000);
    }
  }
}

/**
 * True for a store error that says the command was not run: the server refused all of it, or the
 * driver never sent it. A timeout or a lost connection may have run it (and a frozen store may run it late).
 * NATS publishes are deduplicated by message ID, so any of their failures may be retried.
 */
function surelyNotApplied(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || !name.startsWith('Mongo')) return !(error instanceof WriteConflictError);
  // A bulk's error may come after some of its writes landed: not retried as a whole.
  return NOT_SENT.has(name) || name === 'MongoServerError';
}
const NOT_SENT = new Set([
  'MongoServerSelectionError',
  'MongoWaitQueueTimeoutError',
  'MongoPoolClearedError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
]);

/** Resolves true once `work` settles, or false after `ms` if it has not. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The work items of one message: a `RecipientsAdded` (one per delivery), a `DeliveryEvent`, or a
 * `PersonErased` or `RecipientsRemoved` cut to this partition's records (one per delivery).
 */
function decodeWork(msg: JsMsg): { id: string; item: WorkItem }[] {
  if (msg.info.deliveryCount > MAX_DELIVER) throw new Error(`delivered ${msg.info.deliveryCount} times`);
  if (msg.subject.endsWith('.recipients')) {
    const { communicationId, deliveries, occurredAt } = decodeRecipientsAdded(msg.data);
    return deliveries.map((delivery) => ({
      id: delivery.deliveryId,
      item: { kind: 'recipients', communicationId, delivery, occurredAt },
    }));
  }
  if (msg.subject.endsWith('.remove')) {
    const { communicationId, deliveryIds, removedAt } = decodeRecipientsRemoved(msg.data);
    return deliveryIds.map((id) => ({ id, item: { kind: 'remove', communicationId, removedAt } }));
  }
  if (msg.subject.endsWith('.event')) {
    const event = decodeDeliveryEvent(msg.data);
    return [{ id: event.deliveryId, item: { kind: 'event', event } }];
  }
  if (msg.subject.endsWith('.erase')) {
    const { deliveryIds } = decodePersonErased(msg.data);
    return deliveryIds.map((id) => ({ id, item: { kind: 'erase' } }));
  }
  throw new Error(`unknown work subject ${msg.subject}`);
}
