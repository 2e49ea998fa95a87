import { scrubNames, type PersonErased } from '@dlr/contracts';
import { findByIds, type MongoHandle } from '@dlr/platform';
import type { LinkContentDoc } from './directory.js';
import { COLLECTIONS } from './feedback-store.js';

const CHUNK = 500;

/**
 * Erases feedback-link's copies of a person: the pages' content of their communications (free text
 * that may name them) has every run of words matching one of the event's name hashes replaced by
 * `[erased]`, and their answers are marked erased (they hold IDs and the option chosen only, so
 * they stay and the response counts still add up). Short links hold signed IDs only. Idempotent;
 * returns how many documents it changed.
 */
export async function eraseFeedback(mongo: MongoHandle, event: PersonErased): Promise<number> {
  let changed = 0;
  const names = new Set(event.nameHashes);
  const contents = mongo.db.collection<LinkContentDoc & { erased?: boolean }>(COLLECTIONS.linkContent);
  for (const c of await findByIds(contents, event.communicationIds)) {
    const scrub = (text: string) => scrubNames(text, event.salt, names);
    const update = {
      title: scrub(c.title),
      emailBody: scrub(c.emailBody),
      smsText: scrub(c.smsText),
      responseOptions: c.responseOptions.map(scrub),
    };
    const same =
      update.title === c.title &&
      update.emailBody === c.emailBody &&
      update.smsText === c.smsText &&
      update.responseOptions.every((o, i) => o === c.responseOptions[i]);
    if (same) continue;
    // erased: a redelivered copy of the same content (same publishedAt) must not bring the names back.
    await contents.updateOne({ _id: c._id }, { $set: { ...update, erased: true } }); // index: _id
    changed += 1;
  }
  const feedback = mongo.db.collection<{ _id: string; deliveryId?: string; erased?: boolean }>(COLLECTIONS.feedback);
  for (let i = 0; i < event.deliveryIds.length; i += CHUNK) {
    // index: deliveryId
    const r = await feedback.updateMany(
      { deliveryId: { $in: event.deliveryIds.slice(i, i + CHUNK) }, erased: { $ne: true } },
      { $set: { erased: true } },
    );
    changed += r.modifiedCount;
  }
  return changed;
}
