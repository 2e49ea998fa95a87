import { Kvm, type KV } from '@nats-io/kv';
import { kvBucketNames } from '@dlr/contracts';
import type { Logger, NatsHandle } from '@dlr/platform';
import type { CancellationList } from '../../domain/dispatcher.js';

/**
 * {@link CancellationList} over the cancellations KV bucket that communication writes (one key per
 * cancelled communication). Each batch reads the keys of its communications (one get each, unless
 * already known cancelled): a cancel committed before the batch starts is always seen. A watch keeps
 * the in-memory set current while a batch waits for call slots and rate-limit tokens, so a cancel
 * during a batch stops its remaining provider calls within the watch's delivery time (milliseconds).
 * A cancel is never withdrawn: the set only grows (one ID per cancelled communication).
 */
export class KvCancellations implements CancellationList {
  private readonly cancelled = new Set<string>();
  private stopWatch: (() => void) | undefined;

  private constructor(private readonly kv: KV) {}

  /** Opens (or creates) the bucket and starts the watch. */
  static async open(nats: NatsHandle, namespace: string, logger: Logger): Promise<KvCancellations> {
    const kv = await new Kvm(nats.js).create(kvBucketNames(namespace).cancellations, { history: 1 });
    const list = new KvCancellations(kv);
    const watch = await kv.watch({ ignoreDeletes: true });
    list.stopWatch = () => watch.stop();
    void (async () => {
      for await (const e of watch) if (e.operation === 'PUT') list.cancelled.add(e.key);
    })().catch((error: unknown) => logger.warn({ err: String(error) }, 'cancellation watch ended'));
    return list;
  }

  isCancelled(communicationId: string): boolean {
    return this.cancelled.has(communicationId);
  }

  async refresh(communicationIds: readonly string[]): Promise<void> {
    await Promise.all(
      communicationIds
        .filter((id) => !this.cancelled.has(id))
        .map(async (id) => {
          const e = await this.kv.get(id);
          if (e?.operation === 'PUT') this.cancelled.add(id);
        }),
    );
  }

  stop(): void {
    this.stopWatch?.();
  }
}
