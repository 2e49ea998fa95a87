import { ensureIndexes, isDuplicateKeyError, type MongoHandle } from '@dlr/platform';
import type { Collection, Filter } from 'mongodb';
import type { AuditEntry, AuditFilter, AuditLog } from '../../domain/audit-log.js';

/** The audit log of operator actions, erasures included. */
export const AUDIT_LOG_COLLECTION = 'audit_log';

/** Creates the audit log's index (idempotent): newest first, what every listing sorts by. */
export async function migrateAuditLog(mongo: MongoHandle): Promise<void> {
  await ensureIndexes(mongo.db, AUDIT_LOG_COLLECTION, [{ key: { at: -1, _id: -1 }, name: 'at_id' }]);
}

/** {@link AuditLog} over MongoDB: inserts by `_id`, lists with plain equality/range filters. */
export class MongoAuditLog implements AuditLog {
  private readonly entries: Collection<AuditEntry>;

  constructor(mongo: MongoHandle) {
    this.entries = mongo.db.collection<AuditEntry>(AUDIT_LOG_COLLECTION);
  }

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.entries.insertOne({ ...entry });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  async list(filter: AuditFilter, limit: number, after?: { at: Date; id: string }): Promise<AuditEntry[]> {
    const and: Filter<AuditEntry>[] = [];
    if (filter.kind) and.push({ kind: filter.kind });
    if (filter.actor) and.push({ actor: filter.actor });
    if (filter.communicationId) and.push({ communicationId: filter.communicationId });
    if (filter.from) and.push({ at: { $gte: filter.from } });
    if (filter.to) and.push({ at: { $lt: filter.to } });
    if (after) and.push({ $or: [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: after.id } }] });
    // index at_id (the log is small: operators' actions, not messages)
    return this.entries
      .find(and.length > 0 ? { $and: and } : {})
      .sort({ at: -1, _id: -1 })
      .limit(limit)
      .toArray();
  }
}
