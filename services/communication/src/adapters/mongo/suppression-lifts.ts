import type { MongoHandle } from '@dlr/platform';
import type { SuppressionLiftDoc, SuppressionLiftStore } from '../../domain/suppression-lifts.js';

/** The audit collection of lifted suppressions (written by `_id`, read by operators). */
export const SUPPRESSION_LIFTS = 'suppression_lifts';

/** {@link SuppressionLiftStore} over MongoDB. */
export class MongoSuppressionLiftStore implements SuppressionLiftStore {
  constructor(private readonly mongo: MongoHandle) {}

  async insertLift(doc: SuppressionLiftDoc): Promise<void> {
    await this.mongo.db.collection<SuppressionLiftDoc>(SUPPRESSION_LIFTS).insertOne(doc);
  }
}
