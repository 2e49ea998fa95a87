import { randomUUID } from 'node:crypto';
import { erasureHash, newErasureSalt, type PersonErased } from '@dlr/contracts';
import { InvalidArgumentError, type Logger } from '@dlr/core';
import type { ChannelName, DeliveryDoc } from './model.js';
import { checkPhone, type PhoneRules } from './phone.js';
import { normalizeEmail } from './validation.js';
import type { AuditLog } from './audit-log.js';

/** The deliveries of one person, as communication finds them. */
export interface PersonLookup {
  /** Deliveries sent to this normalized address on this channel. */
  byAddress(channel: ChannelName, address: string): Promise<DeliveryDoc[]>;
  /** Deliveries of one recipient key (an external ID `x:…`, or `e:…|p:…`). */
  byRecipientKey(recipientKey: string): Promise<DeliveryDoc[]>;
}

/** Publishes `PersonErased`; resolves once JetStream stored it. */
export interface ErasureEvents {
  personErased(event: PersonErased): Promise<void>;
}

/** What an admin asks for. */
export interface EraseInput {
  email: string;
  phone: string;
  externalId: string;
  /** The authenticated caller, from the edge. */
  actor: string;
  reason: string;
}

/** Most deliveries one erasure carries (one event; JetStream's default 1 MB message limit). */
export const MAX_ERASED_DELIVERIES = 20_000;

/**
 * Erases a person: finds their deliveries (by address, by external ID, then every delivery of the
 * recipient keys found, so erasing by email also finds the same recipient's SMS), writes the audit
 * entry, and publishes one `PersonErased` (delivery IDs and salted hashes, no plaintext). Every
 * service, this one included, erases its own copies when it consumes the event.
 */
export class Erasures {
  constructor(
    private readonly lookup: PersonLookup,
    private readonly audit: Pick<AuditLog, 'record'>,
    private readonly events: ErasureEvents,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
    private readonly phoneRules: PhoneRules = {},
  ) {}

  /** Throws InvalidArgumentError listing every problem (nothing stored or published), or an outage error. */
  async erase(input: EraseInput): Promise<{ erasureId: string; deliveryCount: number; erasedAt: Date }> {
    const problems: string[] = [];
    const email = input.email.trim() === '' ? '' : normalizeEmail(input.email);
    const phoneCheck = input.phone.trim() === '' ? { phone: '' } : checkPhone(input.phone, this.phoneRules);
    const phone = phoneCheck.phone;
    const externalId = input.externalId.trim();
    const reason = input.reason.trim();
    if (email === undefined) problems.push('email: not a valid email address');
    if (phoneCheck.problem !== undefined) problems.push(`phone: ${phoneCheck.problem}`);
    if (externalId.length > 200) problems.push('external_id: at most 200 characters');
    if (email === '' && phone === '' && externalId === '')
      problems.push('email, phone or external_id: give at least one');
    if (reason === '' || reason.length > 1_000) problems.push('reason: required, at most 1000 characters');
    if (problems.length > 0) throw new InvalidArgumentError('invalid erasure', problems);

    const found = new Map<string, DeliveryDoc>();
    const add = (docs: readonly DeliveryDoc[]) => docs.forEach((d) => found.set(d._id, d));
    if (email) add(await this.lookup.byAddress('email', email));
    if (phone) add(await this.lookup.byAddress('sms', phone));
    if (externalId) add(await this.lookup.byRecipientKey(`x:${externalId}`));
    const keys = new Set([...found.values()].filter((d) => d.erased !== true).map((d) => d.recipientKey));
    for (const key of keys) add(await this.lookup.byRecipientKey(key));
    if (found.size > MAX_ERASED_DELIVERIES)
      throw new InvalidArgumentError('invalid erasure', [
        `the person has ${found.size} deliveries; at most ${MAX_ERASED_DELIVERIES} per erasure`,
      ]);

    const salt = newErasureSalt();
    const addresses = new Set<string>();
    const names = new Set<string>();
    if (email) addresses.add(erasureHash(salt, 'email', email));
    if (phone) addresses.add(erasureHash(salt, 'sms', phone));
    for (const d of found.values()) {
      if (d.erased === true) continue;
      if (d.address !== '') addresses.add(erasureHash(salt, d.channel, d.address));
      if (d.name.trim() !== '') names.add(erasureHash(salt, 'name', d.name));
    }
    const erasureId = randomUUID();
    const erasedAt = this.clock();
    const deliveries = [...found.values()];
    const communications = new Set(deliveries.map((d) => d.communicationId));
    await this.audit.record({
      _id: erasureId,
      kind: 'erasure',
      actor: input.actor,
      at: erasedAt,
      reason,
      summary: `erased 1 person: ${deliveries.length} record${deliveries.length === 1 ? '' : 's'} in ${communications.size} communication${communications.size === 1 ? '' : 's'}`,
    });
    await this.events.personErased({
      erasureId,
      deliveryIds: deliveries.map((d) => d._id),
      communicationIds: [...communications],
      salt,
      addressHashes: [...addresses],
      nameHashes: [...names],
      erasedAt,
    });
    this.logger.info({ erasureId, deliveries: deliveries.length, actor: input.actor }, 'person erased');
    return { erasureId, deliveryCount: deliveries.length, erasedAt };
  }
}
