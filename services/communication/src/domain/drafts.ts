// Fixing a draft before it is sent: edit its content and channels, remove recipients, delete it.
// Every change of the communication is one conditional update on `state: 'draft'`, the same document
// Send moves to `sending`: a send either sees the draft before an edit or after it, never half of it.
// Delivery records that go (removed recipients, a dropped channel, a deleted draft) are announced as
// `RecipientsRemoved` (reporting drops them) before they are deleted, so a retry finds and announces
// what a failure left.
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, type Logger } from '@dlr/core';
import { auditId, type AuditLog } from './audit-log.js';
import type { ChannelName, CommunicationDoc, DeliveryDoc } from './model.js';
import type { CommunicationEvents, CommunicationStore, DraftFields, DraftStore } from './ports.js';
import type { PhoneRules } from './phone.js';
import { deliveryId, MAX_BATCH, normalizeEmail, validateCreate } from './validation.js';
import { checkPhone } from './phone.js';
import { fieldValues, missingFields, usedFields } from './merge.js';

const CHANNELS: readonly ChannelName[] = ['email', 'sms'];
/** Delivery IDs per `RecipientsRemoved` message. */
const REMOVE_BATCH = 500;

/** A recipient as AddRecipients identified it. */
export interface RecipientRefInput {
  externalId: string;
  email: string;
  phone: string;
  recipientKey: string;
}

/** What the use cases need. */
export interface DraftDeps {
  store: CommunicationStore & DraftStore;
  events: CommunicationEvents;
  audit: AuditLog;
  logger: Logger;
  clock?: () => Date;
  phoneRules?: PhoneRules;
}

/** Edit, remove recipients from, and delete drafts. */
export class Drafts {
  private readonly clock: () => Date;

  constructor(private readonly deps: DraftDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Sets the given fields of a draft and checks the whole as a new communication. Deliveries of a
   * channel no longer chosen are removed. Throws InvalidArgumentError, NotFoundError,
   * FailedPreconditionError (sending started).
   */
  async update(id: string, patch: Partial<DraftFields>): Promise<{ communication: CommunicationDoc; removed: number }> {
    const current = await this.requireDraft(id, 'edited');
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const valid = validateCreate({ ...fieldsOf(current), ...defined });
    await this.checkNewFields(current, valid);
    const updated = await this.deps.store.updateDraft(id, valid);
    if (!updated) {
      await this.requireDraft(id, 'edited'); // throws: sent or deleted meanwhile
      throw new FailedPreconditionError(`communication ${id} changed meanwhile; try again`);
    }
    // Always, not only when channels changed: a retry after a failure removes what is left.
    const removed = await this.purge(updated, (d) => !updated.channels.includes(d.channel), false);
    this.deps.logger.info({ communicationId: id, channels: updated.channels, removed }, 'draft edited');
    return { communication: updated, removed };
  }

  /**
   * Removes recipients from a draft. Returns how many delivery records went and which refs matched
   * none. Throws InvalidArgumentError (bad refs, nothing removed), NotFoundError, FailedPreconditionError.
   */
  async removeRecipients(
    id: string,
    refs: readonly RecipientRefInput[],
  ): Promise<{ removed: number; notFound: number[] }> {
    const keys = this.keysOf(refs);
    await this.requireDraft(id, 'changed');
    const unique = [...new Set(keys)];
    // First the mark (atomic with Send): a send that starts from here on skips these recipients.
    const marked = await this.deps.store.markRemoval(id, unique);
    if (!marked) {
      await this.requireDraft(id, 'changed');
      throw new FailedPreconditionError(`communication ${id} changed meanwhile; try again`);
    }
    const ids = unique.flatMap((key) => CHANNELS.map((channel) => deliveryId(id, key, channel)));
    const found = await this.deps.store.getDeliveries(ids);
    const foundKeys = new Set(found.map((d) => d.recipientKey));
    await this.announceAndDelete(
      id,
      found.map((d) => d._id),
      false,
    );
    await this.deps.store.clearRemoval(id, unique);
    this.deps.logger.info(
      { communicationId: id, recipients: unique.length, removed: found.length },
      'recipients removed',
    );
    return {
      removed: found.length,
      notFound: keys.flatMap((key, index) => (foundKeys.has(key) ? [] : [index])),
    };
  }

  /**
   * Deletes a draft and its deliveries (audited). Repeating it finishes an interrupted deletion and
   * answers `alreadyDeleted`. Throws NotFoundError, FailedPreconditionError (sending started).
   */
  async delete(id: string, principal: string, reason: string): Promise<{ removed: number; alreadyDeleted: boolean }> {
    const why = reason.trim();
    if (why.length > 1_000) throw new InvalidArgumentError('invalid request', ['reason: at most 1000 characters']);
    const existing = id === '' ? null : await this.deps.store.getAnyCommunication(id);
    if (!existing) throw new NotFoundError(`communication ${id || '(empty id)'} not found`);
    let doc = existing;
    let alreadyDeleted = existing.deletion !== undefined;
    if (!alreadyDeleted) {
      this.refuseSent(existing, 'deleted');
      const at = this.clock();
      const marked = await this.deps.store.markDeleted(id, { principal, reason: why, at, purged: false });
      if (!marked) {
        const now = await this.deps.store.getAnyCommunication(id);
        if (!now) throw new NotFoundError(`communication ${id} not found`);
        if (now.deletion === undefined) this.refuseSent(now, 'deleted');
        alreadyDeleted = true;
        doc = now;
      } else {
        doc = marked;
        await this.deps.audit.record({
          _id: auditId(`delete_draft:${id}`),
          kind: 'delete_draft',
          actor: principal,
          at,
          reason: why,
          communicationId: id,
          summary: `draft "${marked.title.slice(0, 80)}" deleted`,
        });
      }
    }
    const removed = doc.deletion?.purged === true ? 0 : await this.finishDeletion(doc);
    return { removed, alreadyDeleted };
  }

  /** Finishes deletions a previous process left unfinished. */
  async resume(): Promise<void> {
    for (const doc of await this.deps.store.listUnpurged()) {
      this.deps.logger.warn({ communicationId: doc._id }, 'finishing an interrupted draft deletion');
      await this.finishDeletion(doc);
    }
  }

  private async finishDeletion(doc: CommunicationDoc): Promise<number> {
    const removed = await this.purge(doc, () => true, true);
    await this.deps.store.markPurged(doc._id);
    this.deps.logger.info({ communicationId: doc._id, removed }, 'draft deleted');
    return removed;
  }

  /** Announces and deletes the deliveries of `doc` that `drop` selects, in batches; returns how many. */
  private async purge(doc: CommunicationDoc, drop: (d: DeliveryDoc) => boolean, deleted: boolean): Promise<number> {
    let batch: string[] = [];
    let removed = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await this.announceAndDelete(doc._id, batch, deleted);
      removed += batch.length;
      batch = [];
    };
    // Collected first: deleting while paging by _id is safe, but a batch announced is one message.
    for await (const delivery of this.deps.store.streamDeliveries(doc._id)) {
      if (!drop(delivery)) continue;
      batch.push(delivery._id);
      if (batch.length >= REMOVE_BATCH) await flush();
    }
    await flush();
    return removed;
  }

  private async announceAndDelete(communicationId: string, ids: readonly string[], deleted: boolean): Promise<void> {
    if (ids.length === 0) return;
    await this.deps.events.recipientsRemoved(communicationId, ids, this.clock(), deleted);
    // The revision raised before and after (a preview summary of either side is out of date).
    await this.deps.store.recipientsChanged(communicationId, 0);
    await this.deps.store.deleteDeliveries(ids);
    await this.deps.store.recipientsChanged(communicationId, -ids.length);
  }

  /**
   * A merge field the edit starts using must have a value for every recipient already added (as
   * AddRecipients requires of each row); throws InvalidArgumentError naming how many lack it.
   */
  private async checkNewFields(current: CommunicationDoc, next: DraftFields): Promise<void> {
    const before = new Set(usedFields(fieldsOf(current)).fields);
    const added = usedFields(next).fields.filter((f) => !before.has(f) && f !== 'name' && f !== 'external_id');
    if (added.length === 0) return;
    const lacking = new Map<string, number>();
    for await (const delivery of this.deps.store.streamDeliveries(current._id)) {
      for (const f of missingFields(added, fieldValues(delivery))) lacking.set(f, (lacking.get(f) ?? 0) + 1);
    }
    if (lacking.size > 0) {
      throw new InvalidArgumentError(
        'invalid communication',
        [...lacking].map(
          ([f, n]) =>
            `{{${f}}}: ${n} delivery record(s) of recipients already added have no value for it; add them again with it, or remove them`,
        ),
      );
    }
  }

  /** The recipient keys of `refs`, as AddRecipients makes them; throws listing every bad ref. */
  private keysOf(refs: readonly RecipientRefInput[]): string[] {
    const problems: string[] = [];
    if (refs.length === 0) problems.push('recipients: at least one is required');
    if (refs.length > MAX_BATCH) problems.push(`recipients: at most ${MAX_BATCH} per call (got ${refs.length})`);
    const keys = refs.map((ref, index) => {
      const at = `recipients[${index}]`;
      if (ref.recipientKey.trim() !== '') return ref.recipientKey.trim();
      if (ref.externalId.trim() !== '') return `x:${ref.externalId.trim()}`;
      const email = ref.email.trim() === '' ? '' : normalizeEmail(ref.email);
      const phoneCheck = ref.phone.trim() === '' ? { phone: '' } : checkPhone(ref.phone, this.deps.phoneRules);
      if (email === undefined) problems.push(`${at}.email: not a valid email address`);
      if (phoneCheck.problem !== undefined) problems.push(`${at}.phone: ${phoneCheck.problem}`);
      if (email === '' && phoneCheck.phone === '')
        problems.push(`${at}: give an external ID, an email address or a phone number`);
      return `e:${email ?? ''}|p:${phoneCheck.phone ?? ''}`;
    });
    if (problems.length > 0) throw new InvalidArgumentError('invalid recipients; none were removed', problems);
    return keys;
  }

  private async requireDraft(id: string, what: string): Promise<CommunicationDoc> {
    const doc = id === '' ? null : await this.deps.store.getCommunication(id);
    if (!doc) throw new NotFoundError(`communication ${id || '(empty id)'} not found`);
    this.refuseSent(doc, what);
    return doc;
  }

  private refuseSent(doc: CommunicationDoc, what: string): void {
    if (doc.state !== 'draft') {
      throw new FailedPreconditionError(
        `communication ${doc._id} is ${doc.state === 'sending' ? 'being sent' : 'sent'}; only a draft can be ${what}`,
      );
    }
  }
}

function fieldsOf(doc: CommunicationDoc): DraftFields {
  return {
    title: doc.title,
    emailSubject: doc.emailSubject,
    emailBody: doc.emailBody,
    smsText: doc.smsText,
    channels: doc.channels,
    acknowledgementRequested: doc.acknowledgementRequested,
    responseOptions: doc.responseOptions,
  };
}
