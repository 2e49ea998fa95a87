// The delivery preview consults communication's own replica of the suppression list, fed by
// delivery events (feedback-link opt-outs; provider unsubscribes, complaints, permanent bounces)
// and emptied by LiftSuppression.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  consumerNames,
  DeliveryEvent,
  DeliveryOutcome,
  DeliveryStatus,
  EventSource,
  streamNames,
  type PreviewDeliveryResponse,
} from '@dlr/contracts';
import { connectNats, deliveryEventPublisher, type NatsHandle } from '@dlr/platform';
import { eventually } from '@dlr/testing';
import { startHarness, type Harness } from './helpers.js';

let h: Harness;
let c: Harness['api'];
let nats: NatsHandle;

beforeAll(async () => {
  h = await startHarness('commsupp');
  c = h.api;
  nats = await connectNats({ servers: process.env['NATS_URL']!, name: 'communication-test', logger: h.service.logger });
});
afterAll(async () => {
  await nats?.drain();
  await h?.stop();
});

const content = {
  title: 'Flood: move to higher ground',
  emailSubject: 'Flood warning',
  emailBody: 'Move to higher ground now.',
  smsText: '',
  channels: [Channel.CHANNEL_EMAIL],
  acknowledgementRequested: false,
  responseOptions: [],
};

/** A draft with one email recipient per address; its delivery IDs by recipient name. */
async function draft(recipients: Record<string, string>) {
  const created = await c.createCommunication(content);
  const id = created.communication!.id;
  const added = await c.addRecipients({
    communicationId: id,
    recipients: Object.entries(recipients).map(([name, email]) => ({
      externalId: '',
      name,
      email,
      phone: '',
      optedOutChannels: [],
    })),
  });
  const names = Object.keys(recipients);
  const deliveryIds = Object.fromEntries(added.deliveries.map((d) => [names[d.recipientIndex]!, d.deliveryId]));
  return { id, deliveryIds };
}

/** The preview once its counts are complete (they are summarised in the background). */
const preview = (communicationId: string) =>
  eventually(async () => {
    const p = await c.previewDelivery({ communicationId, pageSize: 0, pageToken: '' });
    expect(p.progress?.finished).toBe(true);
    return p;
  });

/** Each recipient's email outcome, by name. */
function outcomes(p: PreviewDeliveryResponse): Record<string, DeliveryOutcome | undefined> {
  return Object.fromEntries(p.recipients.map((r) => [r.name, r.channels[0]?.outcome]));
}

/** Why each recipient's address is suppressed ('' when it is not). */
function reasons(p: PreviewDeliveryResponse): Record<string, string | undefined> {
  return Object.fromEntries(p.recipients.map((r) => [r.name, r.channels[0]?.suppressionReason]));
}

function event(
  source: 'feedback' | 'provider',
  communicationId: string,
  deliveryId: string,
  status: DeliveryStatus,
  reasonCode = '',
): DeliveryEvent {
  const now = new Date();
  return DeliveryEvent.fromPartial({
    eventId:
      source === 'feedback'
        ? `feedback:${deliveryId}:opt-out`
        : `provider:simulator:${deliveryId}:${status}:${reasonCode || 'none'}`,
    deliveryId,
    communicationId,
    channel: Channel.CHANNEL_EMAIL,
    status,
    reasonCode,
    source: source === 'feedback' ? EventSource.EVENT_SOURCE_FEEDBACK : EventSource.EVENT_SOURCE_PROVIDER,
    attempt: source === 'feedback' ? 0 : 1,
    occurredAt: now,
    receivedAt: now,
  });
}

/** Resolves once communication's provider suppression consumer has acknowledged everything published so far. */
async function providerEventsConsumed(): Promise<void> {
  await eventually(async () => {
    const info = await nats.jsm.consumers.info(
      streamNames(h.namespace).delivery,
      consumerNames.communicationSuppressionsProvider,
    );
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
  });
}

describe('delivery preview and the suppression list', () => {
  it('shows an address suppressed after an opt-out, and getting the message again once the suppression is lifted', async () => {
    const { id, deliveryIds } = await draft({ Ann: 'ann.supp@example.org', Bob: 'bob.supp@example.org' });
    const before = await preview(id);
    expect(before.suppressionChecked).toBe(true);
    expect(outcomes(before)).toEqual({
      Ann: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
      Bob: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
    });

    await deliveryEventPublisher(nats, h.namespace, 'feedback').publish(
      event('feedback', id, deliveryIds['Ann']!, DeliveryStatus.DELIVERY_STATUS_OPTED_OUT),
    );
    const suppressed = await eventually(async () => {
      const p = await preview(id);
      expect(outcomes(p)).toEqual({
        Ann: DeliveryOutcome.DELIVERY_OUTCOME_SUPPRESSED,
        Bob: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
      });
      return p;
    });
    expect(suppressed.suppressionChecked).toBe(true);
    expect(reasons(suppressed)).toEqual({ Ann: 'opted_out', Bob: '' });
    expect(suppressed.channels).toEqual([
      {
        channel: Channel.CHANNEL_EMAIL,
        willSend: 1,
        missingAddress: 0,
        optedOut: 0,
        preferenceOverridden: 0,
        suppressed: 1,
      },
    ]);

    // The same address in another communication is suppressed too (the list is by address).
    const other = await draft({ Ann: ' ANN.supp@example.org ' });
    expect(outcomes(await preview(other.id))).toEqual({ Ann: DeliveryOutcome.DELIVERY_OUTCOME_SUPPRESSED });

    await c.liftSuppression({
      channel: Channel.CHANNEL_EMAIL,
      address: 'ann.supp@example.org',
      operator: 'duty-officer-7',
      reason: 'asked by phone to receive warnings again',
    });
    // Right after the lift (no waiting for an event): Ann gets the message again.
    const lifted = await preview(id);
    expect(lifted.suppressionChecked).toBe(true);
    expect(outcomes(lifted)).toEqual({
      Ann: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
      Bob: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
    });
  });

  it('suppresses on a permanent bounce from the provider, not on another failure', async () => {
    const { id, deliveryIds } = await draft({ Cat: 'cat.supp@example.org', Dan: 'dan.supp@example.org' });
    const provider = deliveryEventPublisher(nats, h.namespace, 'provider');
    await provider.publish(
      event('provider', id, deliveryIds['Dan']!, DeliveryStatus.DELIVERY_STATUS_FAILED, 'provider_rejected'),
    );
    await providerEventsConsumed();
    expect(outcomes(await preview(id))).toEqual({
      Cat: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
      Dan: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
    });

    await provider.publish(
      event('provider', id, deliveryIds['Cat']!, DeliveryStatus.DELIVERY_STATUS_FAILED, 'permanent_bounce'),
    );
    const bounced = await eventually(async () => {
      const p = await preview(id);
      expect(outcomes(p)).toEqual({
        Cat: DeliveryOutcome.DELIVERY_OUTCOME_SUPPRESSED,
        Dan: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
      });
      return p;
    });
    expect(reasons(bounced)).toEqual({ Cat: 'permanent_bounce', Dan: '' });
  });

  it('ignores an event for a delivery record this service does not know', async () => {
    const { id } = await draft({ Eve: 'eve.supp@example.org' });
    await deliveryEventPublisher(nats, h.namespace, 'provider').publish(
      event('provider', id, 'd_unknown', DeliveryStatus.DELIVERY_STATUS_FAILED, 'complaint'),
    );
    await providerEventsConsumed();
    expect(outcomes(await preview(id))).toEqual({ Eve: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND });
  });
});
