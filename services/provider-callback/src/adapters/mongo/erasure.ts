import { ERASED, mentionsAddress, type PersonErased } from '@dlr/contracts';
import type { MongoHandle } from '@dlr/platform';
import type { RawCallback } from '../../domain/ingest.js';
import { RAW_CALLBACKS } from './raw-callbacks.js';

/** How many raw callbacks one read of the erasure scan takes. */
const PAGE = 500;

/**
 * Erases provider-callback's copies of a person: every raw callback whose body or query string holds
 * one of the person's addresses (an SES notification's headers, a Twilio `To`, a SendGrid `email`)
 * keeps its `_id`, provider, type and receipt time (audit, dedupe of a provider's retry) but its body
 * becomes {@link ERASED} and it is marked erased (never reparsed). Raw callbacks are not keyed by
 * delivery, so this scans the collection in `_id` order, which TTL retention keeps bounded; parked
 * callbacks and provider messages hold IDs only. Idempotent; returns how many callbacks it erased.
 */
export async function eraseRawCallbacks(mongo: MongoHandle, event: PersonErased): Promise<number> {
  const addresses = new Set(event.addressHashes);
  if (addresses.size === 0) return 0;
  const raw = mongo.db.collection<RawCallback & { erased?: boolean }>(RAW_CALLBACKS);
  let changed = 0;
  let after: string | undefined;
  for (;;) {
    // index: _id (a range scan in _id order)
    const page = await raw
      .find(after === undefined ? {} : { _id: { $gt: after } }, {
        projection: { _id: 1, body: 1, query: 1, erased: 1 },
      })
      .sort({ _id: 1 })
      .limit(PAGE)
      .toArray();
    for (const doc of page) {
      if (doc.erased === true) continue;
      const hit =
        mentionsAddress(doc.body ?? '', event.salt, addresses) ||
        mentionsAddress(doc.query ?? '', event.salt, addresses);
      if (!hit) continue;
      // index: _id
      await raw.updateOne({ _id: doc._id }, { $set: { body: ERASED, erased: true }, $unset: { query: '' } });
      changed += 1;
    }
    if (page.length < PAGE) return changed;
    after = page[page.length - 1]!._id;
  }
}
