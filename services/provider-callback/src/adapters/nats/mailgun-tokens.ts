// Mailgun's signature tokens, remembered for the timestamp window in a NATS KV bucket that every
// replica shares: create() succeeds only for a key not yet there (one round trip, no MongoDB wait),
// and the bucket's TTL forgets a token once its timestamp could no longer verify anyway.
import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsHandle } from '@dlr/platform';
import type { MailgunTokenLedger } from '../../domain/mailgun.js';

/** The bucket's name in a namespace (KV bucket names allow letters, digits, `_` and `-`). */
export function mailgunTokenBucket(namespace: string): string {
  return `${namespace.replace(/[^A-Za-z0-9_-]/g, '_')}_mailgun_tokens`;
}

/**
 * Opens (creating if needed) the token bucket with a TTL of `windowSeconds`. A token is stored as its
 * SHA-256, so keys are valid KV keys whatever Mailgun sends. Throws when NATS is unreachable.
 */
export async function natsMailgunTokens(
  nats: NatsHandle,
  namespace: string,
  windowSeconds: number,
): Promise<MailgunTokenLedger> {
  const kv = await new Kvm(nats.js).create(mailgunTokenBucket(namespace), { ttl: windowSeconds * 1_000, history: 1 });
  return {
    claim: async (token) => {
      const key = createHash('sha256').update(token).digest('hex');
      try {
        await kv.create(key, '');
        return true;
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence)
          return false;
        throw error;
      }
    },
  };
}
