// Publishes `StatusChanged` (dlr.reporting.v1) on the public subject
// `<ns>.v1.reporting.status-changed.<communication>.<status>`; see docs/events.md.
import { channelOf, StatusChanged, subjects } from '@dlr/contracts';
import { publishDurable, type NatsHandle } from '@dlr/platform';
import { STATUSES } from '@dlr/status-engine';
import type { StatusChange } from '../../domain/projection.js';
import type { StatusChangePublisher } from './partitions.js';

/** The wire form of a change. */
export function encodeStatusChange(c: StatusChange): Uint8Array {
  return StatusChanged.encode({
    deliveryId: c.deliveryId,
    communicationId: c.communicationId,
    channel: channelOf(c.channel),
    version: c.version,
    oldStatus: STATUSES[c.oldStatus].proto,
    newStatus: STATUSES[c.newStatus].proto,
    response: c.response,
    oldResponse: c.oldResponse,
    attempt: c.attempt,
    reasonCode: c.reasonCode,
    reasonText: c.reasonText,
    eventId: c.eventId,
    occurredAt: c.occurredAt,
    changedAt: c.changedAt,
  }).finish();
}

/**
 * A publisher that sends each record's changes in version order (changes of different records
 * go out together) and resolves once JetStream stored them all. `Nats-Msg-Id` is
 * `<delivery>:<version>`, so a republished change is dropped within the duplicate window.
 */
export function statusChangePublisher(nats: NatsHandle, namespace: string): StatusChangePublisher {
  const s = subjects(namespace);
  return {
    publish: async (changes) => {
      const byRecord = new Map<string, StatusChange[]>();
      for (const c of changes) {
        const list = byRecord.get(c.deliveryId);
        if (list === undefined) byRecord.set(c.deliveryId, [c]);
        else list.push(c);
      }
      await Promise.all(
        [...byRecord.values()].map(async (list) => {
          for (const c of list.sort((a, b) => a.version - b.version)) {
            await publishDurable(
              nats.js,
              s.statusChanged(c.communicationId, c.newStatus),
              encodeStatusChange(c),
              `${c.deliveryId}:${c.version}`,
            );
          }
        }),
      );
    },
  };
}
