import { randomBytes } from 'node:crypto';
import { suppressionKey } from '@dlr/contracts';
import { InvalidArgumentError, type Logger } from '@dlr/core';
import { auditId, type AuditLog } from './audit-log.js';
import type { ChannelName } from './model.js';
import { checkPhone, type PhoneRules } from './phone.js';
import { normalizeEmail } from './validation.js';

/** The audit record of a lifted suppression (collection `suppression_lifts`). Holds no address. */
export interface SuppressionLiftDoc {
  _id: string;
  channel: ChannelName;
  /** Hash of channel and normalized address: what dispatch's replica is keyed by. */
  addressKey: string;
  /** Who lifted it (the name they typed). */
  operator: string;
  /** Who was authenticated for the lift (`token:admin-token`, `oidc:<sub>`): what the audit trusts. */
  principal: string;
  /** Why. */
  reason: string;
  liftedAt: Date;
}

/** Where lift audits are kept. */
export interface SuppressionLiftStore {
  insertLift(doc: SuppressionLiftDoc): Promise<void>;
}

/** Publishes `SuppressionLifted`; resolves once JetStream stored it. */
export interface SuppressionLiftEvents {
  suppressionLifted(doc: SuppressionLiftDoc): Promise<void>;
}

/** This service's own replica of the suppression list (what the delivery preview consults). */
export interface SuppressionReplica {
  /** Removes the address with this key; true when it was there. Idempotent. */
  lift(addressKey: string): Promise<boolean>;
}

/** What an operator asks for. */
export interface LiftInput {
  channel: ChannelName | undefined;
  address: string;
  operator: string;
  /** The authenticated caller, from the edge (never from the request body). */
  principal: string;
  reason: string;
}

/**
 * Lifts suppressions (opt-out, complaint, permanent bounce): stores the audit (who, when, why),
 * removes the address from this service's own replica (so the next preview no longer shows it
 * suppressed), then publishes `SuppressionLifted` so dispatch removes it from its replica. The
 * address itself is neither stored nor logged.
 */
export class SuppressionLifts {
  constructor(
    private readonly store: SuppressionLiftStore,
    private readonly events: SuppressionLiftEvents,
    private readonly replica: SuppressionReplica,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
    /** Where lifts are audited (with the authenticated caller). */
    private readonly audit?: AuditLog,
    private readonly phoneRules: PhoneRules = {},
  ) {}

  /** Throws InvalidArgumentError listing every problem (nothing stored), or an outage error. */
  async lift(input: LiftInput): Promise<SuppressionLiftDoc> {
    const problems: string[] = [];
    const channel = input.channel;
    if (channel === undefined) problems.push('channel: must be CHANNEL_EMAIL or CHANNEL_SMS');
    const phone = channel === 'sms' ? checkPhone(input.address, this.phoneRules) : undefined;
    const address = channel === 'email' ? normalizeEmail(input.address) : channel === 'sms' ? phone?.phone : '';
    if (channel !== undefined && address === undefined)
      problems.push(`address: ${channel === 'email' ? 'not a valid email address' : (phone?.problem ?? 'not valid')}`);
    const operator = input.operator.trim();
    const reason = input.reason.trim();
    if (operator === '' || operator.length > 200) problems.push('operator: required, at most 200 characters');
    if (reason === '' || reason.length > 1_000) problems.push('reason: required, at most 1000 characters');
    if (problems.length > 0 || channel === undefined || address === undefined)
      throw new InvalidArgumentError('invalid suppression lift', problems);
    const doc: SuppressionLiftDoc = {
      _id: `l_${randomBytes(12).toString('base64url')}`,
      channel,
      addressKey: suppressionKey(channel, address),
      operator,
      principal: input.principal,
      reason,
      liftedAt: this.clock(),
    };
    await this.store.insertLift(doc);
    await this.audit?.record({
      _id: auditId(`lift:${doc._id}`),
      kind: 'lift',
      actor: doc.principal,
      at: doc.liftedAt,
      reason: doc.reason,
      // The key's first characters tell entries apart; the address itself is never stored.
      summary: `lifted the suppression of an ${channel === 'email' ? 'email address' : 'SMS number'} (key ${doc.addressKey.slice(0, 12)}…)`,
    });
    const wasSuppressed = await this.replica.lift(doc.addressKey);
    await this.events.suppressionLifted(doc);
    this.logger.info({ liftId: doc._id, channel, wasSuppressed, principal: doc.principal }, 'suppression lifted');
    return doc;
  }
}
