import { createHash } from 'node:crypto';
import { channelOf, MessageContent, RecipientsAdded, RecipientsRemoved, SendRequested, subjects } from '@dlr/contracts';
import { publishDurable, type NatsHandle } from '@dlr/platform';
import { unreachableReason, type CommunicationDoc, type DeliveryDoc } from '../../domain/model.js';
import { fieldValues, mergeContent, usedFields } from '../../domain/merge.js';
import type { CommunicationEvents } from '../../domain/ports.js';

/** {@link CommunicationEvents} on JetStream, with Nats-Msg-Id dedupe keys. */
export class NatsCommunicationEvents implements CommunicationEvents {
  private readonly subjects: ReturnType<typeof subjects>;
  private readonly fieldsByContent = new Map<string, string[]>();

  constructor(
    private readonly nats: NatsHandle,
    namespace: string,
  ) {
    this.subjects = subjects(namespace);
  }

  /** The merge fields of a communication's content (parsed once per content). */
  private usedFields(c: CommunicationDoc): string[] {
    const key = `${c._id}\n${c.emailSubject}\n${c.emailBody}\n${c.smsText}`;
    let fields = this.fieldsByContent.get(key);
    if (!fields) {
      fields = usedFields(c).fields;
      this.fieldsByContent.set(key, fields);
      if (this.fieldsByContent.size > 1_000) this.fieldsByContent.delete(this.fieldsByContent.keys().next().value!);
    }
    return fields;
  }

  async recipientsAdded(communication: CommunicationDoc, deliveries: readonly DeliveryDoc[], at: Date): Promise<void> {
    const message = RecipientsAdded.fromPartial({
      communicationId: communication._id,
      title: communication.title,
      occurredAt: at,
      deliveries: deliveries.map((d) => ({
        deliveryId: d._id,
        channel: channelOf(d.channel),
        recipientKey: d.recipientKey,
        recipientName: d.name,
        address: d.address,
      })),
    });
    // The same batch announced twice is one message within the duplicate window.
    const digest = createHash('sha256');
    for (const d of deliveries) digest.update(`${d._id}|${d.name}|${d.address}\n`);
    const msgId = `recipients:${communication._id}:${digest.digest('base64url').slice(0, 22)}`;
    await publishDurable(this.nats.js, this.subjects.recipientsAdded, RecipientsAdded.encode(message).finish(), msgId);
  }

  async recipientsRemoved(
    communicationId: string,
    deliveryIds: readonly string[],
    at: Date,
    deleted: boolean,
  ): Promise<void> {
    const message = RecipientsRemoved.fromPartial({
      communicationId,
      deliveryIds: [...deliveryIds],
      removedAt: at,
      communicationDeleted: deleted,
    });
    const digest = createHash('sha256');
    for (const id of deliveryIds) digest.update(`${id}\n`);
    digest.update(at.toISOString());
    const msgId = `removed:${communicationId}:${digest.digest('base64url').slice(0, 22)}`;
    await publishDurable(
      this.nats.js,
      this.subjects.recipientsRemoved,
      RecipientsRemoved.encode(message).finish(),
      msgId,
    );
  }

  async sendRequested(
    communication: CommunicationDoc,
    delivery: DeliveryDoc,
    attempt: number,
    at: Date,
  ): Promise<void> {
    const shared = {
      title: communication.title,
      emailSubject: communication.emailSubject,
      emailBody: communication.emailBody,
      smsText: communication.smsText,
      acknowledgementRequested: communication.acknowledgementRequested,
      responseOptions: communication.responseOptions,
    };
    const used = this.usedFields(communication);
    const personal = used.length > 0;
    const placeholders = Object.fromEntries(used.map((f) => [f, `[${f}]`]));
    const message = SendRequested.fromPartial({
      communicationId: communication._id,
      deliveryId: delivery._id,
      attempt,
      channel: channelOf(delivery.channel),
      recipientName: delivery.name,
      address: delivery.address,
      requestedAt: at,
      preferencesOverridden: Boolean(communication.preferenceOverride),
      notSentReason: unreachableReason(delivery, communication) ?? '',
      content: MessageContent.fromPartial({ ...shared, ...(personal ? mergeContent(shared, placeholders) : {}) }),
      ...(personal ? { rendered: MessageContent.fromPartial(mergeContent(shared, fieldValues(delivery))) } : {}),
    });
    await publishDurable(
      this.nats.js,
      this.subjects.sendRequested,
      SendRequested.encode(message).finish(),
      `send:${delivery._id}:${attempt}`,
    );
  }
}
