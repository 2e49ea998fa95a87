import { randomBytes, randomUUID } from 'node:crypto';
import { DeliveryEvent, streamNames, subjectMatches } from '@dlr/contracts';
import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * Polls `fn` every `intervalMs` until it returns without throwing (an `expect` inside, or {@link present}) and
 * resolves with what it returned, or rethrows its last error after `timeoutMs`. For asynchronous outcomes,
 * instead of sleeping. (Poll an expensive check — a whole report — slowly: the poll itself loads the system
 * under test.)
 */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** `value` unless it is null or undefined; then throws "`what`: not there yet" (for {@link eventually}). */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`${what}: not there yet`);
  return value;
}

/** Per-test isolation: `prefix_<12 hex>`, safe as a MongoDB database, collection or NATS stream/consumer name. */
export function uniqueName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `${clean}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Per-test-file isolation on shared servers: a database name and a NATS namespace of its own. */
export function isolation(prefix: string): { db: string; namespace: string } {
  const suffix = randomBytes(6).toString('hex');
  const p = prefix.toLowerCase().replace(/[^a-z0-9]/g, '');
  return { db: `t_${p}_${suffix}`, namespace: `t${p}${suffix}` };
}

/** How many messages one of the namespace's streams (default: delivery) holds on the subjects `pattern` matches. */
export async function messageCount(
  jsm: JetStreamManager,
  namespace: string,
  pattern: string,
  stream: keyof ReturnType<typeof streamNames> = 'delivery',
): Promise<number> {
  const info = await jsm.streams.info(streamNames(namespace)[stream], { subjects_filter: pattern });
  return Object.values(info.state.subjects ?? {}).reduce((n, count) => n + count, 0);
}

/**
 * Every DeliveryEvent stored on the subjects `pattern` matches in the namespace's delivery stream,
 * with its subject and Nats-Msg-Id, oldest first.
 */
export async function storedEvents(
  jsm: JetStreamManager,
  namespace: string,
  pattern: string,
): Promise<{ msgId: string; subject: string; event: DeliveryEvent; bytes: Uint8Array }[]> {
  const stream = streamNames(namespace).delivery;
  const { state } = await jsm.streams.info(stream);
  const out: { msgId: string; subject: string; event: DeliveryEvent; bytes: Uint8Array }[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!msg || !subjectMatches(pattern, msg.subject)) continue;
    out.push({
      msgId: msg.header.get('Nats-Msg-Id'),
      subject: msg.subject,
      event: DeliveryEvent.decode(msg.data),
      bytes: msg.data,
    });
  }
  return out;
}
