// Cancel a send in progress: communication records the cancellation, tells
// dispatch through the cancellations KV bucket (dispatch hands nothing more of the communication to
// a provider and turns what is left into Not Sent `cancelled`), and audits it.
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, type Logger } from '@dlr/core';
import { auditId, type AuditLog } from './audit-log.js';
import type { CancellationDoc, CommunicationDoc } from './model.js';

/** Storage of the cancellation (the communication document). */
export interface CancelStore {
  getCommunication(id: string): Promise<CommunicationDoc | null>;
  /** Sets the cancellation if the communication is sending or sent and not cancelled; the updated doc or null. */
  setCancellation(id: string, cancellation: CancellationDoc): Promise<CommunicationDoc | null>;
}

/** Where dispatch learns of cancellations; resolves once the cancellation is stored (the commit point). */
export interface CancelSignal {
  cancelled(communicationId: string, at: Date): Promise<void>;
}

/** The use case; see the gRPC `CancelCommunication`. */
export class SendCancellation {
  constructor(
    private readonly deps: {
      store: CancelStore;
      signal: CancelSignal;
      audit: AuditLog;
      logger: Logger;
      clock?: () => Date;
    },
  ) {}

  /**
   * Cancels the send. Idempotent: a cancelled communication is returned as it is (`alreadyCancelled`),
   * after making sure dispatch's signal and the audit entry exist (a first call may have failed
   * between the steps). A communication whose messages were all handed over already is cancelled
   * too, which changes no record (there is nothing left to stop): asking reporting whether anything
   * is still Pending would race with its projection of the records. Throws InvalidArgumentError,
   * NotFoundError, FailedPreconditionError (a draft), or an outage error (the next call completes it).
   */
  async cancel(input: {
    communicationId: string;
    reason: string;
    principal: string;
  }): Promise<{ communication: CommunicationDoc; alreadyCancelled: boolean }> {
    const reason = input.reason.trim();
    const problems: string[] = [];
    if (reason === '') problems.push('reason: is required (why the send is cancelled)');
    if (reason.length > 1_000) problems.push('reason: at most 1000 characters');
    if (problems.length > 0) throw new InvalidArgumentError('invalid cancel', problems);
    const id = input.communicationId;
    const doc = id === '' ? null : await this.deps.store.getCommunication(id);
    if (!doc) throw new NotFoundError(`communication ${id || '(empty id)'} not found`);
    if (doc.cancellation) return { communication: await this.complete(doc), alreadyCancelled: true };
    if (doc.state === 'draft') {
      throw new FailedPreconditionError(
        `communication ${id} is a draft: nothing has been sent, so there is nothing to cancel`,
      );
    }
    const at = (this.deps.clock ?? (() => new Date()))();
    const updated = await this.deps.store.setCancellation(id, { principal: input.principal, reason, at });
    if (!updated) {
      const again = await this.deps.store.getCommunication(id);
      if (again?.cancellation) return { communication: await this.complete(again), alreadyCancelled: true };
      throw new FailedPreconditionError(`communication ${id} cannot be cancelled in its state`);
    }
    this.deps.logger.warn({ communicationId: id, principal: input.principal }, 'send cancelled');
    return { communication: await this.complete(updated), alreadyCancelled: false };
  }

  /** Dispatch's signal, then the audit entry; both idempotent. */
  private async complete(doc: CommunicationDoc): Promise<CommunicationDoc> {
    const c = doc.cancellation!;
    await this.deps.signal.cancelled(doc._id, c.at);
    await this.deps.audit.record({
      _id: auditId(`cancel:${doc._id}`),
      kind: 'cancel',
      actor: c.principal,
      at: c.at,
      reason: c.reason,
      communicationId: doc._id,
      summary: `cancelled the send of communication ${doc._id}`,
    });
    return doc;
  }
}
