import { randomBytes } from 'node:crypto';
import { DeliveryEvent, streamNames } from '@dlr/contracts';
import type { JetStreamManager } from '@nats-io/jetstream';

/** Polls `fn` until it returns without throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Per-file isolation: a database name and a NATS namespace of our own. */
export function isolation(): { db: string; namespace: string } {
  const suffix = randomBytes(6).toString('hex');
  return { db: `t_pc_${suffix}`, namespace: `tpc${suffix}` };
}

/** The URLs of the shared test servers (set by the global setup, or by hand). */
export function serverUrls(): { natsUrl: string; mongoUri: string } {
  const natsUrl = process.env['NATS_URL'];
  const mongoUri = process.env['MONGODB_URI'];
  if (!natsUrl || !mongoUri) throw new Error('NATS_URL and MONGODB_URI must be set (the global setup sets them)');
  return { natsUrl, mongoUri };
}

/** How many messages the delivery stream holds on `subject`. */
export async function messageCount(jsm: JetStreamManager, namespace: string, subject: string): Promise<number> {
  const info = await jsm.streams.info(streamNames(namespace).delivery, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/** Every DeliveryEvent stored on `subject`, with its Nats-Msg-Id, oldest first. */
export async function storedEvents(
  jsm: JetStreamManager,
  namespace: string,
  subject: string,
): Promise<{ msgId: string; event: DeliveryEvent; bytes: Uint8Array }[]> {
  const stream = streamNames(namespace).delivery;
  const { state } = await jsm.streams.info(stream);
  const out: { msgId: string; event: DeliveryEvent; bytes: Uint8Array }[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!msg || msg.subject !== subject) continue;
    out.push({ msgId: msg.header.get('Nats-Msg-Id'), event: DeliveryEvent.decode(msg.data), bytes: msg.data });
  }
  return out;
}
