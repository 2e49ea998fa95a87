// A runnable subscriber to reporting's public status changes (see docs/events.md):
//
//   NATS_URL=nats://127.0.0.1:4222 NATS_NAMESPACE=dlr \
//     node --conditions=source --import tsx services/reporting/examples/status-changes.ts [communicationId] [status]
//
// It prints one line per change: record, version, old → new status, response. Leave out the
// communication (or pass `*`) to watch all of them; pass a status key (e.g. `failed`) to watch one status.
import { pathToFileURL } from 'node:url';
import { StatusChanged, streamNames, subjects } from '@dlr/contracts';
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** Options of {@link watchStatusChanges}. */
export interface WatchOptions {
  readonly natsUrl: string;
  /** The deployment's NATS_NAMESPACE (default `dlr`). */
  readonly namespace: string;
  /** One communication, or `*` for all. */
  readonly communicationId: string;
  /** One status key (`delivered`, `failed`, …), or `*` for all. */
  readonly status: string;
  /** Called once per change, in stream order (so in version order per record). */
  readonly onChange: (change: StatusChanged) => void | Promise<void>;
  readonly signal: AbortSignal;
}

/**
 * Reads every status change matching the filter from the start of the stream, then live, until
 * `signal` aborts. An ordered consumer: no server-side state, nothing to clean up. Changes are at
 * least once: drop a repeat by (deliveryId, version).
 */
export async function watchStatusChanges(options: WatchOptions): Promise<void> {
  const nc = await connect({ servers: options.natsUrl, name: 'status-change-example' });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(streamNames(options.namespace).statusChanges, {
      filter_subjects: [subjects(options.namespace).statusChanged(options.communicationId, options.status)],
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume();
    const stop = () => void messages.close();
    options.signal.addEventListener('abort', stop, { once: true });
    if (options.signal.aborted) stop();
    for await (const msg of messages) await options.onChange(StatusChanged.decode(msg.data));
  } finally {
    await nc.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const seen = new Set<string>();
  await watchStatusChanges({
    natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    namespace: process.env.NATS_NAMESPACE ?? 'dlr',
    communicationId: process.argv[2] ?? '*',
    status: process.argv[3] ?? '*',
    signal: controller.signal,
    onChange: (c) => {
      const key = `${c.deliveryId}:${c.version}`;
      if (seen.has(key)) return; // a repeat
      seen.add(key);
      console.log(
        `${c.changedAt?.toISOString() ?? ''} ${c.communicationId} ${c.deliveryId} v${c.version} ` +
          `${c.oldStatus} -> ${c.newStatus}${c.response ? ` (${c.response})` : ''}`,
      );
    },
  });
}
