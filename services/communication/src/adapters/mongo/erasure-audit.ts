import type { MongoHandle } from '@dlr/platform';
import type { AuditEntry, ErasureAudit } from '../../domain/erasure.js';

/** The audit log of operator actions (shared with the audit-log page; written by `_id`). */
export const AUDIT_LOG = 'audit_log';

/** {@link ErasureAudit} over MongoDB: one `audit_log` document per erasure, kind `erasure`. */
export class MongoErasureAudit implements ErasureAudit {
  constructor(private readonly mongo: MongoHandle) {}

  async insert(entry: AuditEntry): Promise<void> {
    await this.mongo.db.collection<AuditEntry>(AUDIT_LOG).insertOne({ ...entry });
  }
}
