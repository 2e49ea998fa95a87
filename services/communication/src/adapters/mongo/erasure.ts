import { ERASED, scrubNames, type PersonErased } from '@dlr/contracts';
import { findByIds, type MongoHandle, type StoreProfile } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { PersonLookup } from '../../domain/erasure.js';
import type { ChannelName, CommunicationDoc, DeliveryDoc } from '../../domain/model.js';
import { COLLECTIONS } from './store.js';

/** Most deliveries one lookup returns (an erasure refuses more, see MAX_ERASED_DELIVERIES). */
const LOOKUP_LIMIT = 20_001;

/**
 * Finds a person's deliveries and erases communication's own copies of them: `deliveries` (name,
 * address and recipient key replaced, marked erased, never sent again) and the names in the text of
 * their communications. Idempotent.
 */
export class MongoErasure implements PersonLookup {
  private readonly deliveries: Collection<DeliveryDoc>;
  private readonly communications: Collection<CommunicationDoc>;
  private readonly store: StoreProfile;

  constructor(mongo: MongoHandle) {
    this.deliveries = mongo.db.collection<DeliveryDoc>(COLLECTIONS.deliveries);
    this.communications = mongo.db.collection<CommunicationDoc>(COLLECTIONS.communications);
    this.store = mongo.store;
  }

  async byAddress(channel: ChannelName, address: string): Promise<DeliveryDoc[]> {
    return this.deliveries.find({ channel, address }).limit(LOOKUP_LIMIT).toArray(); // index channel_address
  }

  async byRecipientKey(recipientKey: string): Promise<DeliveryDoc[]> {
    return this.deliveries.find({ recipientKey }).limit(LOOKUP_LIMIT).toArray(); // index recipientKey_createdAt_id
  }

  /** Applies one erasure to this service's collections; returns how many documents it changed. */
  async apply(event: PersonErased): Promise<number> {
    let changed = 0;
    const found = await findByIds(this.deliveries, event.deliveryIds);
    for (const d of found) {
      if (d.erased === true) continue;
      // index: _id
      await this.deliveries.updateOne(
        { _id: d._id },
        {
          $set: { name: ERASED, address: ERASED, recipientKey: `erased:${event.erasureId}`, erased: true },
          $unset: { fields: '' }, // merge-field values are personal data too
        },
      );
      changed += 1;
    }
    const names = new Set(event.nameHashes);
    for (const c of await findByIds(this.communications, event.communicationIds)) {
      const scrub = (text: string) => scrubNames(text, event.salt, names);
      const update = {
        title: scrub(c.title),
        emailSubject: scrub(c.emailSubject),
        emailBody: scrub(c.emailBody),
        smsText: scrub(c.smsText),
      };
      if (Object.entries(update).every(([k, v]) => c[k as keyof typeof update] === v)) continue;
      await this.communications.updateOne({ _id: c._id }, { $set: update }); // index: _id
      changed += 1;
    }
    return changed;
  }
}
