// gRPC handlers of the operator actions: list, preview, override, resend, history.
import { channelOf, DeliveryOutcome, ResendScope, SmsEncoding, type CommunicationServiceServer } from '@dlr/contracts';
import { grpcCallerOf, unary, type Logger } from '@dlr/platform';
import type { ResendDoc, ResendScopeName } from '../../domain/model.js';
import type { OperatorActions } from '../../domain/operator-actions.js';
import type { Outcome } from '../../domain/preview.js';
import { toMessage } from './messages.js';

const OUTCOMES: Record<Outcome, DeliveryOutcome> = {
  will_send: DeliveryOutcome.DELIVERY_OUTCOME_WILL_SEND,
  missing_address: DeliveryOutcome.DELIVERY_OUTCOME_MISSING_ADDRESS,
  opted_out: DeliveryOutcome.DELIVERY_OUTCOME_OPTED_OUT,
  preference_overridden: DeliveryOutcome.DELIVERY_OUTCOME_PREFERENCE_OVERRIDDEN,
  suppressed: DeliveryOutcome.DELIVERY_OUTCOME_SUPPRESSED,
};

/** The contract's resend scope as ours; undefined for UNSPECIFIED or an unknown value. */
export function scopeOf(scope: ResendScope): ResendScopeName | undefined {
  return scope === ResendScope.RESEND_SCOPE_NOT_DELIVERED
    ? 'not_delivered'
    : scope === ResendScope.RESEND_SCOPE_NOT_ANSWERED
      ? 'not_answered'
      : undefined;
}

function resendMessage(doc: ResendDoc, repeated: boolean) {
  return {
    requestId: doc.requestId,
    scope:
      doc.scope === 'not_delivered' ? ResendScope.RESEND_SCOPE_NOT_DELIVERED : ResendScope.RESEND_SCOPE_NOT_ANSWERED,
    resentCount: doc.resentCount,
    repeated,
    requestedAt: doc.requestedAt,
    finishedAt: doc.finishedAt,
    totalCount: doc.total ?? 0,
    examinedCount: doc.examined ?? 0,
    problem: doc.problem ?? '',
  };
}

/** Who made a gRPC call, as the audit records it (`token:admin-token`, `oidc:<sub>`, `service:service`). */
export function principal(call: object): string {
  const caller = grpcCallerOf(call);
  return caller ? `${caller.via}:${caller.subject}` : 'unknown';
}

type OperatorMethods = Pick<
  CommunicationServiceServer,
  'listCommunications' | 'previewDelivery' | 'overridePreferences' | 'resendCommunication'
>;

/** The operator-action methods of the gRPC `CommunicationService`. */
export function operatorGrpc(actions: OperatorActions, logger: Logger): OperatorMethods {
  return {
    listCommunications: unary(logger, 'ListCommunications', async (req) => {
      const page = await actions.list({ pageSize: req.pageSize, pageToken: req.pageToken });
      return { communications: page.communications.map((c) => toMessage(c, 0)), nextPageToken: page.nextPageToken };
    }),
    previewDelivery: unary(logger, 'PreviewDelivery', async (req) => {
      const p = await actions.preview({
        communicationId: req.communicationId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        recipientKey: req.recipientKey.trim(),
      });
      const segments = (sms: NonNullable<typeof p.sms>) => ({
        encoding: sms.encoding === 'gsm7' ? SmsEncoding.SMS_ENCODING_GSM7 : SmsEncoding.SMS_ENCODING_UCS2,
        length: sms.length,
        segments: sms.segments,
        perSegment: sms.perSegment,
        linkAllowance: sms.linkAllowance,
      });
      return {
        communication: toMessage(p.communication, p.deliveryCount),
        recipientCount: p.recipientCount,
        channels: p.channels.map((c) => ({
          channel: channelOf(c.channel),
          willSend: c.will_send,
          missingAddress: c.missing_address,
          optedOut: c.opted_out,
          preferenceOverridden: c.preference_overridden,
          suppressed: c.suppressed,
        })),
        sms: p.sms && segments(p.sms),
        sample: p.sample && { ...p.sample, sms: p.sample.sms && segments(p.sample.sms) },
        recipients: p.recipients.map((r) => ({
          recipientKey: r.recipientKey,
          name: r.name,
          channels: r.channels.map((c) => ({
            channel: channelOf(c.channel),
            outcome: OUTCOMES[c.outcome],
            deliveryId: c.deliveryId ?? '',
            suppressionReason: c.suppressionReason ?? '',
          })),
        })),
        nextPageToken: p.nextPageToken,
        suppressionChecked: p.suppressionChecked,
        progress: {
          finished: p.progress.finished,
          checkedCount: p.progress.checked,
          totalCount: p.progress.total,
          asOf: p.progress.at,
        },
      };
    }),
    overridePreferences: unary(logger, 'OverridePreferences', async (req, call) => {
      const r = await actions.overridePreferences({
        communicationId: req.communicationId,
        operator: req.operator,
        principal: principal(call),
        reason: req.reason,
      });
      return { communication: toMessage(r.communication, 0), releasedCount: r.releasedCount };
    }),
    resendCommunication: unary(logger, 'ResendCommunication', async (req, call) => {
      const r = await actions.resend({
        communicationId: req.communicationId,
        requestId: req.requestId,
        scope: scopeOf(req.scope),
        operator: req.operator,
        principal: principal(call),
      });
      return resendMessage(r.resend, r.repeated);
    }),
  };
}
