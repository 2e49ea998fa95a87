import type { MongoHandle } from '@dlr/platform';
import type { Collection } from 'mongodb';
import type { PreviewSummaryDoc, PreviewSummaryStore } from '../../domain/preview-summary.js';

/** The collection of the delivery preview's summaries (one document per communication, by `_id`). */
export const PREVIEW_SUMMARIES = 'preview_summaries';

/** {@link PreviewSummaryStore} over MongoDB: `_id`-only reads and writes. */
export class MongoPreviewSummaries implements PreviewSummaryStore {
  private readonly summaries: Collection<PreviewSummaryDoc>;

  constructor(mongo: MongoHandle) {
    this.summaries = mongo.db.collection<PreviewSummaryDoc>(PREVIEW_SUMMARIES);
  }

  async get(communicationId: string): Promise<PreviewSummaryDoc | null> {
    return this.summaries.findOne({ _id: communicationId });
  }

  async start(doc: PreviewSummaryDoc): Promise<void> {
    await this.summaries.replaceOne({ _id: doc._id }, doc, { upsert: true });
  }

  async update(doc: PreviewSummaryDoc): Promise<boolean> {
    const { matchedCount } = await this.summaries.replaceOne({ _id: doc._id, runId: doc.runId }, doc);
    return matchedCount > 0;
  }
}
