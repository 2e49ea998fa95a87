import type { MongoHandle } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { TemplateDoc, TemplateStore } from '../../domain/templates.js';

/** The collection of saved templates. */
export const TEMPLATES = 'templates';

/** {@link TemplateStore} over MongoDB (a few hundred templates at most: the list reads them in order). */
export class MongoTemplates implements TemplateStore {
  private readonly templates: Collection<TemplateDoc>;

  constructor(mongo: MongoHandle) {
    this.templates = mongo.db.collection<TemplateDoc>(TEMPLATES);
  }

  async insert(doc: TemplateDoc): Promise<void> {
    await this.templates.insertOne(doc);
  }

  async get(id: string): Promise<TemplateDoc | null> {
    return this.templates.findOne({ _id: id });
  }

  async list(limit: number, after?: { createdAt: Date; id: string }): Promise<TemplateDoc[]> {
    const filter = after
      ? { $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }] }
      : {};
    return this.templates.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
  }
}
