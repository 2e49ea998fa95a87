// gRPC handlers of the operator controls: cancel a send, the audit log, the suppression list.
import { AuditKind, channelName, channelOf, type CommunicationServiceServer } from '@dlr/contracts';
import { unary, type Logger } from '@dlr/platform';
import type { AuditEntry, AuditKind as AuditKindName, AuditQueries } from '../../domain/audit-log.js';
import type { SendCancellation } from '../../domain/cancel.js';
import type { SuppressionQueries } from '../../domain/suppression-list.js';
import { toMessage } from './messages.js';
import { principal } from './operator.js';

const KINDS: Record<AuditKindName, AuditKind> = {
  override: AuditKind.AUDIT_KIND_OVERRIDE,
  resend: AuditKind.AUDIT_KIND_RESEND,
  cancel: AuditKind.AUDIT_KIND_CANCEL,
  lift: AuditKind.AUDIT_KIND_LIFT,
  erasure: AuditKind.AUDIT_KIND_ERASURE,
  delete_draft: AuditKind.AUDIT_KIND_DELETE_DRAFT,
};

/** The contract's audit kind as ours; undefined for UNSPECIFIED (every kind). */
function kindOf(kind: AuditKind): AuditKindName | undefined {
  return (Object.keys(KINDS) as AuditKindName[]).find((k) => KINDS[k] === kind);
}

/** An audit entry as the contract's message. */
export function auditMessage(e: AuditEntry) {
  return {
    id: e._id,
    kind: KINDS[e.kind] ?? AuditKind.AUDIT_KIND_UNSPECIFIED,
    actor: e.actor,
    at: e.at,
    reason: e.reason,
    communicationId: e.communicationId ?? '',
    summary: e.summary,
  };
}

/** What the controls' gRPC methods need. */
export interface ControlsDeps {
  cancellation: SendCancellation;
  audit: AuditQueries;
  suppressions: SuppressionQueries;
}

/** `CancelCommunication`, `ListAuditLog` and `ListSuppressions` of the gRPC `CommunicationService`. */
export function controlsGrpc(
  deps: ControlsDeps,
  logger: Logger,
): Pick<CommunicationServiceServer, 'cancelCommunication' | 'listAuditLog' | 'listSuppressions'> {
  return {
    cancelCommunication: unary(logger, 'CancelCommunication', async (req, call) => {
      const r = await deps.cancellation.cancel({
        communicationId: req.communicationId,
        reason: req.reason,
        principal: principal(call),
      });
      return { communication: toMessage(r.communication, 0), alreadyCancelled: r.alreadyCancelled };
    }),
    listAuditLog: unary(logger, 'ListAuditLog', async (req) => {
      const page = await deps.audit.list({
        filter: {
          kind: kindOf(req.kind),
          actor: req.actor.trim() || undefined,
          communicationId: req.communicationId.trim() || undefined,
          from: req.from,
          to: req.to,
        },
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { entries: page.entries.map(auditMessage), nextPageToken: page.nextPageToken };
    }),
    listSuppressions: unary(logger, 'ListSuppressions', async (req) => {
      const page = await deps.suppressions.list({
        channel: channelName(req.channel),
        address: req.address,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return {
        suppressions: page.suppressions.map((s) => ({
          addressKey: s._id,
          channel: channelOf(s.channel),
          reason: s.reason,
          suppressedAt: s.suppressedAt,
          deliveryId: s.deliveryId,
          communicationId: s.communicationId,
        })),
        nextPageToken: page.nextPageToken,
      };
    }),
  };
}
