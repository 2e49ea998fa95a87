import { ERASED, type PersonErased } from '@dlr/contracts';
import type { MongoHandle } from '@dlr/platform';
import type { AttemptDoc } from '../../domain/attempt.js';
import { ATTEMPTS } from './attempts.js';

const CHUNK = 500;

/**
 * Erases dispatch's copies of a person: the provider's words on their attempts (a bounce text may
 * quote the address) become {@link ERASED} and the attempts are marked erased. Dispatch keeps no
 * address or name otherwise: its suppression replica and `delivery_addresses` hold hashes only, and
 * stay so that an erased person who opted out is still never sent to. Idempotent.
 */
export async function eraseAttempts(mongo: MongoHandle, event: PersonErased): Promise<number> {
  const attempts = mongo.db.collection<AttemptDoc & { erased?: boolean }>(ATTEMPTS);
  let changed = 0;
  for (let i = 0; i < event.deliveryIds.length; i += CHUNK) {
    const deliveryId = { $in: event.deliveryIds.slice(i, i + CHUNK) };
    // index deliveryId
    const r = await attempts.updateMany({ deliveryId, erased: { $ne: true } }, { $set: { erased: true } });
    await attempts.updateMany(
      { deliveryId, reasonText: { $exists: true, $ne: ERASED } },
      { $set: { reasonText: ERASED } },
    );
    changed += r.modifiedCount;
  }
  return changed;
}
