// What operators do around a communication besides create/add/send: list, preview, override
// preferences, resend, and a recipient's history.
import type { SuppressionReason } from '@dlr/contracts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError, type Logger } from '@dlr/core';
import { auditId, type AuditLog } from './audit-log.js';
import type { Communications } from './communications.js';
import { isIncluded, type CommunicationDoc, type DeliveryDoc, type ResendDoc, type ResendScopeName } from './model.js';
import type {
  CommunicationEvents,
  CommunicationStore,
  DeliveryStatusSource,
  OperatorActionStore,
  SuppressionLookup,
} from './ports.js';
import {
  buildPreview,
  resendStatuses,
  smsPreview,
  wantsResend,
  type Preview,
  type RecipientOutcome,
} from './preview.js';
import type { PreviewSummaries } from './preview-summary.js';
import type { SmsCount } from './sms.js';
import { fieldValues, mergeContent } from './merge.js';
import { deliveryId } from './validation.js';

/** How many resend requests are published concurrently. */
const RESEND_WINDOW = 16;
/**
 * Records read, bumped and published together by a resend (one store round trip each way); at 500
 * a bulk of updates outlasted the driver's 30 s socket timeout on a loaded FerretDB v1.
 */
const RESEND_BATCH = 100;
/** How often a running resend stores its progress. */
const PROGRESS_EVERY_MS = 1_000;

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure after all settled. */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      await fn(item).catch((error: unknown) => {
        failure ??= error instanceof Error ? error : new Error('publish failed', { cause: error });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
const REQUEST_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** A page cursor over (createdAt, id), opaque to callers. */
export function encodeCursor(c: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([c.createdAt.getTime(), c.id])).toString('base64url');
}

/** Reads a cursor from {@link encodeCursor}; throws InvalidArgumentError when it is not one. */
export function decodeCursor(token: string, field = 'page_token'): { createdAt: Date; id: string } | undefined {
  if (token === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string' && value[1].length < 300) {
      return { createdAt: new Date(value[0]), id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`invalid ${field}`, [`${field}: not a cursor this service issued`]);
}

export function pageSize(value: number, fallback: number, max: number, field = 'page_size'): number {
  if (value === 0) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new InvalidArgumentError(`invalid ${field}`, [`${field}: must be 1 to ${max}`]);
  return value;
}

/** Who performs an audited action: the name they gave, and who was signed in. */
export interface Actor {
  operator: string;
  principal: string;
}

function checkActor(actor: Actor, problems: string[]): void {
  const name = actor.operator.trim();
  if (name === '') problems.push('operator: is required (who is doing this)');
  if (name.length > 200) problems.push('operator: at most 200 characters');
}

/** One page of the delivery preview. */
export interface PreviewPage extends Omit<Preview, 'recipients'> {
  readonly communication: CommunicationDoc;
  readonly deliveryCount: number;
  readonly sms: (SmsCount & { linkAllowance: number }) | undefined;
  readonly recipients: readonly RecipientOutcome[];
  readonly nextPageToken: string;
  readonly suppressionChecked: boolean;
  /** How far the counts are: deliveries checked of the total, and when (they run in the background). */
  readonly progress: { finished: boolean; checked: number; total: number; at: Date };
  /** The chosen recipient's message, when one was asked for. */
  readonly sample: MessageSample | undefined;
}

/** One recipient's message as it will be sent (merge fields filled in). */
export interface MessageSample {
  readonly recipientKey: string;
  readonly name: string;
  readonly emailSubject: string;
  readonly emailBody: string;
  readonly smsText: string;
  readonly sms: (SmsCount & { linkAllowance: number }) | undefined;
}

/** The operator use cases over the store, the events and (optionally) reporting and the suppression list. */
export class OperatorActions {
  private readonly resends = new Map<string, Promise<ResendDoc>>();

  constructor(
    private readonly deps: {
      store: CommunicationStore & OperatorActionStore;
      events: CommunicationEvents;
      communications: Communications;
      logger: Logger;
      /** Reporting's view of statuses; resend is unavailable without it. */
      statuses?: DeliveryStatusSource | undefined;
      /** The suppression list; the preview says so when it is absent. */
      suppressions?: SuppressionLookup | undefined;
      /** The preview's counts, kept as summaries computed in the background. */
      previews: PreviewSummaries;
      /** Characters dispatch's acknowledge link takes in an SMS. */
      smsLinkLength: number;
      /** Where overrides and resends are audited (with the authenticated caller). */
      audit?: AuditLog | undefined;
      clock?: () => Date;
    },
  ) {}

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  /** Communications, newest first. Throws InvalidArgumentError for a bad page size or token. */
  async list(input: { pageSize: number; pageToken: string }) {
    const limit = pageSize(input.pageSize, 20, 100);
    const docs = await this.deps.store.listCommunications(limit + 1, decodeCursor(input.pageToken));
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return {
      communications: page,
      nextPageToken: docs.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last._id }) : '',
    };
  }

  /**
   * Who gets which channel and who will not, and why; the SMS segment count. Reads only. Throws
   * NotFoundError, InvalidArgumentError.
   */
  async preview(input: {
    communicationId: string;
    pageSize: number;
    pageToken: string;
    /** Also render this recipient's message (merge fields filled in). */
    recipientKey?: string;
  }): Promise<PreviewPage> {
    const limit = pageSize(input.pageSize, 100, 1_000);
    let after = '';
    if (input.pageToken !== '') {
      after = Buffer.from(input.pageToken, 'base64url').toString('utf8');
      if (!after.startsWith('d_'))
        throw new InvalidArgumentError('invalid page_token', ['page_token: not a cursor this service issued']);
    }
    const { communication, deliveryCount } = await this.deps.communications.get(input.communicationId);
    const [summary, page] = await Promise.all([
      this.deps.previews.current(communication, deliveryCount),
      this.recipientsPage(communication, after, limit),
    ]);
    return {
      communication,
      deliveryCount,
      recipientCount: summary.recipientCount,
      channels: summary.channels,
      sms: communication.channels.includes('sms')
        ? (summary.longestSms ?? smsPreview(communication, this.deps.smsLinkLength))
        : undefined,
      sample: input.recipientKey ? await this.sample(communication, input.recipientKey) : undefined,
      recipients: page.recipients,
      nextPageToken: page.next === '' ? '' : Buffer.from(page.next).toString('base64url'),
      suppressionChecked: summary.suppressionChecked && page.suppressionChecked,
      progress: {
        finished: summary.state === 'done',
        checked: summary.checked,
        total: summary.total,
        at: summary.finishedAt ?? summary.updatedAt,
      },
    };
  }

  /** One recipient's message as it will be sent; NotFoundError when the recipient is not on the list. */
  private async sample(communication: CommunicationDoc, recipientKey: string): Promise<MessageSample> {
    const ids = communication.channels.map((channel) => deliveryId(communication._id, recipientKey, channel));
    const [delivery] = await this.deps.store.getDeliveries(ids);
    if (!delivery) throw new NotFoundError(`recipient ${recipientKey} is not on communication ${communication._id}`);
    const merged = mergeContent(communication, fieldValues(delivery));
    return {
      recipientKey,
      name: delivery.name,
      emailSubject: merged.emailSubject || communication.title,
      emailBody: merged.emailBody,
      smsText: merged.smsText,
      sms: communication.channels.includes('sms') ? smsPreview(merged, this.deps.smsLinkLength) : undefined,
    };
  }

  /**
   * `limit` recipients of the preview (fewer on the last page), in delivery-ID order after `after`:
   * each recipient is listed at the first of its deliveries in that order (its others are found by
   * their IDs). `next`: the delivery ID the next page starts after ('' on the last page).
   */
  private async recipientsPage(communication: CommunicationDoc, after: string, limit: number) {
    const shown: DeliveryDoc[][] = [];
    let cursor = after;
    let next = ''; // stays '' when the deliveries run out first
    for (;;) {
      const page = await this.deps.store.deliveriesPage(communication._id, cursor, limit);
      const siblingIds = new Set<string>();
      for (const d of page)
        for (const channel of communication.channels)
          if (channel !== d.channel) siblingIds.add(deliveryId(communication._id, d.recipientKey, channel));
      const siblings = siblingIds.size > 0 ? await this.deps.store.getDeliveries([...siblingIds]) : [];
      const byRecipient = new Map<string, DeliveryDoc[]>();
      for (const d of [...page, ...siblings]) {
        const list = byRecipient.get(d.recipientKey) ?? [];
        if (!list.some((x) => x._id === d._id)) list.push(d);
        byRecipient.set(d.recipientKey, list);
      }
      for (const d of page) {
        const all = byRecipient.get(d.recipientKey)!;
        if (all.some((x) => x._id < d._id)) continue; // listed at its first delivery
        shown.push(all);
        if (shown.length === limit) {
          next = d._id;
          break;
        }
      }
      if (shown.length === limit || page.length < limit) break;
      cursor = page.at(-1)!._id;
    }
    const deliveries = shown.flat();
    let suppressed: ReadonlyMap<string, SuppressionReason> = new Map();
    let linkOptOuts: ReadonlySet<string> = new Set();
    let suppressionChecked = false;
    if (this.deps.suppressions) {
      try {
        suppressed = await this.deps.suppressions.suppressed(deliveries);
        if (communication.preferenceOverride) linkOptOuts = await this.deps.suppressions.linkOptOuts(deliveries);
        suppressionChecked = true;
      } catch (error) {
        this.deps.logger.warn({ communicationId: communication._id, err: String(error) }, 'suppression lookup failed');
      }
    }
    return {
      recipients: buildPreview(communication, deliveries, suppressed, linkOptOuts).recipients,
      next,
      suppressionChecked,
    };
  }

  /**
   * Overrides recipients' channel preferences for a draft (SPEC §3): stores who, when and why, then
   * announces the held-back deliveries (they appear Pending). Repeating it returns the first override.
   * Throws InvalidArgumentError, NotFoundError, FailedPreconditionError (not a draft).
   */
  async overridePreferences(input: { communicationId: string; reason: string } & Actor) {
    const problems: string[] = [];
    checkActor(input, problems);
    const reason = input.reason.trim();
    if (reason === '') problems.push("reason: is required (why recipients' preferences are overridden)");
    if (reason.length > 1_000) problems.push('reason: at most 1000 characters');
    if (problems.length > 0) throw new InvalidArgumentError('invalid override', problems);
    const { communication } = await this.deps.communications.get(input.communicationId);
    if (communication.preferenceOverride) {
      await this.auditOverride(communication);
      return { communication, releasedCount: 0 };
    }
    if (communication.state !== 'draft') {
      throw new FailedPreconditionError(
        `communication ${communication._id} was already sent; preferences can only be overridden before sending`,
      );
    }
    const updated = await this.deps.store.setPreferenceOverride(communication._id, {
      operator: input.operator.trim(),
      principal: input.principal,
      reason,
      at: this.now(),
    });
    if (!updated) {
      const again = (await this.deps.communications.get(communication._id)).communication;
      if (again.preferenceOverride) {
        await this.auditOverride(again);
        return { communication: again, releasedCount: 0 };
      }
      throw new FailedPreconditionError(`communication ${communication._id} is no longer a draft`);
    }
    // Audited: who decided is stored; the log carries IDs only.
    this.deps.logger.warn(
      { communicationId: updated._id, principal: input.principal },
      "recipients' preferences overridden",
    );
    await this.auditOverride(updated);
    const releasedCount = await this.deps.communications.announceOverridden(updated);
    return { communication: updated, releasedCount };
  }

  /**
   * A new attempt for every delivery record of a sent communication that reporting shows as not
   * yet Delivered (or not yet answered). Idempotent per request ID: a repeat returns the first
   * result (`repeated`), and a request interrupted by a crash is finished by the next start.
   * Throws InvalidArgumentError, NotFoundError, FailedPreconditionError, UnavailableError.
   */
  async resend(
    input: { communicationId: string; requestId: string; scope: ResendScopeName | undefined } & Actor,
  ): Promise<{ resend: ResendDoc; repeated: boolean }> {
    const problems: string[] = [];
    if (!REQUEST_ID.test(input.requestId)) problems.push('request_id: 1 to 100 of A-Z a-z 0-9 _ -');
    if (input.scope === undefined) problems.push('scope: choose not delivered or not answered');
    checkActor(input, problems);
    if (problems.length > 0 || input.scope === undefined) throw new InvalidArgumentError('invalid resend', problems);
    const { communication } = await this.deps.communications.get(input.communicationId);
    const key = `${communication._id}:${input.requestId}`;
    const existing = await this.deps.store.getResend(key);
    if (existing) await this.auditResend(existing);
    if (existing) return { resend: this.carryOnIfRunning(existing), repeated: true };
    if (communication.state !== 'sent') {
      throw new FailedPreconditionError(
        `communication ${communication._id} is ${communication.state === 'draft' ? 'a draft' : 'still being sent'}; resend once it is sent`,
      );
    }
    if (communication.cancellation) {
      throw new FailedPreconditionError(`communication ${communication._id} was cancelled; it cannot be resent`);
    }
    if (
      input.scope === 'not_answered' &&
      !communication.acknowledgementRequested &&
      communication.responseOptions.length === 0
    ) {
      throw new FailedPreconditionError(
        `communication ${communication._id} asks for no acknowledgement or response; resend to the not delivered instead`,
      );
    }
    if (!this.deps.statuses) {
      throw new UnavailableError('resend needs the reporting service, which is not configured (REPORTING_GRPC_URL)');
    }
    const locked = await this.deps.store.lockResend(communication._id, key);
    if (!locked) {
      const again = await this.deps.store.getResend(key);
      if (again) return { resend: this.carryOnIfRunning(again), repeated: true };
      throw new FailedPreconditionError(
        `another resend of communication ${communication._id} is in progress; try again when it has finished`,
      );
    }
    const doc: ResendDoc = {
      _id: key,
      communicationId: communication._id,
      requestId: input.requestId,
      scope: input.scope,
      operator: input.operator.trim(),
      principal: input.principal,
      state: 'running',
      requestedAt: this.now(),
      resentCount: 0,
    };
    if (!(await this.deps.store.insertResend(doc))) {
      await this.deps.store.unlockResend(communication._id, key);
      const again = await this.deps.store.getResend(key);
      if (!again) throw new UnavailableError('resend request could not be recorded; try again');
      return { resend: this.carryOnIfRunning(again), repeated: true };
    }
    await this.auditResend(doc);
    this.deps.logger.info(
      { communicationId: communication._id, resend: input.requestId, scope: input.scope, principal: input.principal },
      'resend requested',
    );
    this.carryOnIfRunning(doc);
    return { resend: doc, repeated: false };
  }

  /**
   * Starts (or joins) carrying out a running resend in the background and returns it as stored:
   * the caller answers at once and the progress shows on the resend as it goes.
   */
  private carryOnIfRunning(resend: ResendDoc): ResendDoc {
    if (resend.state !== 'done') this.run(resend).catch(() => undefined); // logged once, by run()
    return resend;
  }

  /**
   * Audits an override (idempotent: one entry per communication), with how many of its deliveries
   * it sends to although their address was opted out through a link (counted when it is decided).
   */
  private async auditOverride(communication: CommunicationDoc): Promise<void> {
    const o = communication.preferenceOverride;
    if (!this.deps.audit || !o) return;
    let reach = 'link opt-outs it reaches: not checked (no suppression list)';
    if (this.deps.suppressions) {
      const deliveries: DeliveryDoc[] = [];
      for await (const d of this.deps.store.streamDeliveries(communication._id)) deliveries.push(d);
      const count = (await this.deps.suppressions.linkOptOuts(deliveries)).size;
      reach = `it reaches ${count} ${count === 1 ? 'address' : 'addresses'} opted out through a link (complaints and permanent bounces stay suppressed)`;
    }
    await this.deps.audit.record({
      _id: auditId(`override:${communication._id}`),
      kind: 'override',
      actor: o.principal,
      at: o.at,
      reason: o.reason,
      communicationId: communication._id,
      summary: `overrode recipients' channel preferences for communication ${communication._id}; ${reach}`,
    });
  }

  /** Audits a resend request (idempotent: one entry per request ID). */
  private async auditResend(resend: ResendDoc): Promise<void> {
    if (!this.deps.audit) return;
    await this.deps.audit.record({
      _id: auditId(`resend:${resend._id}`),
      kind: 'resend',
      actor: resend.principal,
      at: resend.requestedAt,
      reason: `resend ${resend.scope === 'not_delivered' ? 'to records not yet delivered' : 'to records not yet answered'}`,
      communicationId: resend.communicationId,
      summary: `resend ${resend.requestId} of communication ${resend.communicationId} (${resend.scope.replace('_', ' ')})`,
    });
  }

  /** A resend request's result, or null when there is none with that ID. */
  async resendResult(communicationId: string, requestId: string): Promise<ResendDoc | null> {
    return this.deps.store.getResend(`${communicationId}:${requestId}`);
  }

  /** Finishes resends a previous process left running, and frees slots held without a resend. */
  async resume(): Promise<void> {
    for (const communication of await this.deps.store.listResending()) {
      const key = communication.resendInProgress!;
      const resend = await this.deps.store.getResend(key);
      if (!resend || resend.state === 'done') {
        await this.deps.store.unlockResend(communication._id, key);
        continue;
      }
      this.deps.logger.warn({ communicationId: communication._id, resend: resend.requestId }, 'resuming a resend');
      this.run(resend).catch(() => undefined); // logged once, by run()
    }
  }

  /** Waits for resends running in this process (tests and shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.resends.values(), this.deps.previews.settled()]);
  }

  private run(resend: ResendDoc): Promise<ResendDoc> {
    let running = this.resends.get(resend._id);
    if (!running) {
      running = this.carryOut(resend)
        .catch((error: unknown) => {
          this.deps.logger.error(
            { communicationId: resend.communicationId, resend: resend.requestId, err: String(error) },
            'resend interrupted; repeating the request carries it on',
          );
          throw error;
        })
        .finally(() => this.resends.delete(resend._id));
      this.resends.set(resend._id, running);
    }
    return running;
  }

  private async carryOut(resend: ResendDoc): Promise<ResendDoc> {
    const statuses = this.deps.statuses;
    if (!statuses) throw new UnavailableError('resend needs the reporting service (REPORTING_GRPC_URL)');
    const { communication } = await this.deps.communications.get(resend.communicationId);
    const progress = { resentCount: 0, examined: 0, total: 0 };
    let batch: string[] = [];
    let lastProgressAt = 0;
    const flush = async () => {
      const ids = batch;
      batch = [];
      const deliveries = (await this.deps.store.getDeliveries(ids)).filter((d) => isIncluded(d, communication));
      // Already bumped by this resend before an interruption: publish the same attempt again
      // (deduplicated downstream by its Nats-Msg-Id), never a second new one.
      const attempts = deliveries.map((d) => ({
        delivery: d,
        attempt: d.lastResendId === resend._id ? (d.attempt ?? 1) : (d.attempt ?? 1) + 1,
      }));
      await this.deps.store.setAttempts(
        attempts
          .filter((a) => a.delivery.lastResendId !== resend._id)
          .map((a) => ({ deliveryId: a.delivery._id, attempt: a.attempt })),
        resend._id,
      );
      await forEachConcurrently(attempts, RESEND_WINDOW, (a) =>
        this.deps.events.sendRequested(communication, a.delivery, a.attempt, this.now()),
      );
      progress.resentCount += attempts.length;
      progress.examined += ids.length;
      if (Date.now() - lastProgressAt >= PROGRESS_EVERY_MS) {
        lastProgressAt = Date.now();
        await this.deps.store.progressResend(resend._id, progress);
      }
    };
    try {
      const records = statuses.statuses(communication._id, resendStatuses(resend.scope), (total) => {
        progress.total = total;
      });
      for await (const record of records) {
        if (!wantsResend(resend.scope, record.status)) {
          progress.examined++;
          continue;
        }
        batch.push(record.deliveryId);
        if (batch.length >= RESEND_BATCH) await flush();
      }
      if (batch.length > 0) await flush();
    } catch (error) {
      // Free the slot so the operator can try again; repeating this request ID carries it on
      // without a second new attempt for the records it already covered.
      const problem = error instanceof Error ? error.message : String(error);
      await this.deps.store.progressResend(resend._id, { ...progress, problem }).catch(() => undefined);
      await this.deps.store.unlockResend(communication._id, resend._id).catch(() => undefined);
      throw error instanceof Error ? error : new Error('resend failed', { cause: error });
    }
    const count = progress.resentCount;
    await this.deps.store.progressResend(resend._id, progress);
    const finished = await this.deps.store.finishResend(resend._id, count, this.now());
    await this.deps.store.unlockResend(communication._id, resend._id);
    this.deps.logger.info({ communicationId: communication._id, resend: resend.requestId, count }, 'resend published');
    return finished ?? { ...resend, state: 'done', resentCount: count };
  }
}
