import { Kvm, type KV } from '@nats-io/kv';
import { kvBucketNames } from '@dlr/contracts';
import type { NatsHandle } from '@dlr/platform';
import type { CancelSignal } from '../../domain/cancel.js';

/**
 * {@link CancelSignal} as one key per cancelled communication in the cancellations KV bucket, which
 * dispatch watches (and reads before each batch). A put is the commit point of a cancel.
 */
export class KvCancelSignal implements CancelSignal {
  private kv: Promise<KV> | undefined;

  constructor(
    private readonly nats: NatsHandle,
    private readonly namespace: string,
  ) {}

  async cancelled(communicationId: string, at: Date): Promise<void> {
    // Opened on first use (create is idempotent: it binds to the bucket when it exists).
    this.kv ??= new Kvm(this.nats.js).create(kvBucketNames(this.namespace).cancellations, { history: 1 });
    const kv = await this.kv.catch((error: unknown) => {
      this.kv = undefined;
      throw error;
    });
    await kv.put(communicationId, JSON.stringify({ at: at.toISOString() }));
  }
}
