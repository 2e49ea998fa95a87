import { findByIds, isDuplicateKeyError } from '@dlr/platform';
import type { Collection, Db } from 'mongodb';
import type { TitleStore } from '../../domain/reads.js';

/** Reporting's own copy of communication titles (`_id` = communication ID), fed by `RecipientsAdded`. */
export const TITLES = 'communication_titles';

interface TitleDoc {
  _id: string;
  title: string;
  /** When communication published it: an older copy never replaces a newer one. */
  at: Date;
}

/** {@link TitleStore} on MongoDB, by `_id` only. */
export class MongoTitles implements TitleStore {
  private readonly titles: Collection<TitleDoc>;

  constructor(db: Db) {
    this.titles = db.collection<TitleDoc>(TITLES);
  }

  async set(communicationId: string, title: string, at: Date): Promise<void> {
    try {
      // index: _id. A newer copy there makes the upsert collide on `_id`: nothing changes.
      await this.titles.updateOne(
        { _id: communicationId, at: { $not: { $gt: at } } },
        { $set: { title, at } },
        { upsert: true },
      );
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  async scrub(communicationIds: readonly string[], scrub: (title: string) => string, at: Date): Promise<void> {
    for (const [id, title] of await this.get(communicationIds)) {
      const clean = scrub(title);
      // index: _id. Dated at the erasure, so a copy published before it (redelivered) cannot bring the name back.
      if (clean !== title) await this.titles.updateOne({ _id: id }, { $set: { title: clean, at } });
    }
  }

  async get(communicationIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const ids = [...new Set(communicationIds)];
    if (ids.length === 0) return new Map();
    const found = await findByIds(this.titles, ids, { projection: { _id: 1, title: 1 } });
    return new Map(found.map((d) => [d._id, d.title]));
  }
}
