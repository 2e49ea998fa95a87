// Console routes of the operator controls: cancel a send (sender, with a confirmation step), the
// audit log (admin), the suppression list with search and lift (admin). The address searched for is
// posted, never put in a URL (URLs end up in traces and browser history).
import { AppError, InvalidArgumentError, type Logger, type Role } from '@dlr/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AUDIT_KINDS, type AuditKind, type AuditQueries } from '../../domain/audit-log.js';
import type { SendCancellation } from '../../domain/cancel.js';
import type { Communications } from '../../domain/communications.js';
import type { SuppressionLifts } from '../../domain/suppression-lifts.js';
import type { SuppressionQueries } from '../../domain/suppression-list.js';
import { defaultOperator, fields, html, one, pageHandler, principal, query } from './console-kit.js';
import { auditPage, cancelConfirmPage, suppressionsPage, type AuditForm } from './controls-views.js';

/** What the controls' pages need (besides what the console has). */
export interface ControlsConsoleDeps {
  cancellation: SendCancellation;
  audit: AuditQueries;
  suppressions: SuppressionQueries;
  lifts: SuppressionLifts;
}

const as = (role: Role) => ({ config: { role } });

/** A time typed in a filter: ISO 8601, UTC unless it says otherwise; '' is no bound. */
function parseTime(value: string, field: string, problems: string[]): Date | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const withZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(v) ? v : `${v}Z`;
  const d = /^\d{4}-\d{2}-\d{2}/.test(v) ? new Date(withZone) : new Date(NaN);
  if (Number.isNaN(d.getTime())) problems.push(`${field}: not a time (e.g. 2026-12-03T09:00)`);
  return d;
}

/** Registers the routes in the console's plugin scope (its form parsers). */
export function controlsRoutes(
  app: FastifyInstance,
  deps: ControlsConsoleDeps & { communications: Communications; logger: Logger },
): void {
  const { communications, logger } = deps;
  const page = pageHandler(logger);

  app.get<{ Params: { id: string } }>(
    '/console/communications/:id/cancel',
    as('sender'),
    page(async (request, reply) => {
      const { communication, deliveryCount } = await communications.get(request.params.id);
      if (communication.cancellation) return reply.redirect(`/console/communications/${communication._id}`, 303);
      return html(reply, cancelConfirmPage(communication, deliveryCount));
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/cancel',
    as('sender'),
    page(async (request, reply) => {
      const f = fields(request);
      try {
        await deps.cancellation.cancel({
          communicationId: request.params.id,
          reason: one(f, 'reason'),
          principal: principal(request),
        });
      } catch (error) {
        if (error instanceof AppError && (error.code === 'invalid_argument' || error.code === 'failed_precondition')) {
          const { communication, deliveryCount } = await communications.get(request.params.id);
          const problems = error.details.length ? error.details : [error.message];
          return html(
            reply,
            cancelConfirmPage(communication, deliveryCount, problems),
            error.code === 'invalid_argument' ? 400 : 409,
          );
        }
        throw error;
      }
      return reply.redirect(`/console/communications/${request.params.id}?done=cancelled`, 303);
    }),
  );

  app.get(
    '/console/audit',
    as('admin'),
    page(async (request, reply) => {
      const form: AuditForm = {
        kind: query(request, 'kind'),
        actor: query(request, 'actor'),
        communication: query(request, 'communication'),
        from: query(request, 'from'),
        to: query(request, 'to'),
      };
      const problems: string[] = [];
      if (form.kind !== '' && !AUDIT_KINDS.includes(form.kind as AuditKind))
        problems.push(`kind: one of ${AUDIT_KINDS.join(', ')}`);
      const from = parseTime(form.from, 'from', problems);
      const to = parseTime(form.to, 'to', problems);
      if (problems.length > 0) return html(reply, auditPage(form, [], '', problems), 400);
      try {
        const result = await deps.audit.list({
          filter: {
            kind: (form.kind || undefined) as AuditKind | undefined,
            actor: form.actor.trim() || undefined,
            communicationId: form.communication.trim() || undefined,
            from,
            to,
          },
          pageSize: 100,
          pageToken: query(request, 'page'),
        });
        return html(reply, auditPage(form, result.entries, result.nextPageToken));
      } catch (error) {
        if (error instanceof InvalidArgumentError) return html(reply, auditPage(form, [], '', error.details), 400);
        throw error;
      }
    }),
  );

  const NOTICES: Record<string, string> = {
    lifted: 'The suppression is lifted: later communications are sent to this address again.',
  };
  app.get(
    '/console/suppressions',
    as('admin'),
    page(async (request, reply) => {
      const list = await deps.suppressions.list({
        channel: undefined,
        address: '',
        pageSize: 100,
        pageToken: query(request, 'page'),
      });
      return html(
        reply,
        suppressionsPage({
          address: '',
          channel: '',
          suppressions: list.suppressions,
          searched: false,
          nextPageToken: list.nextPageToken,
          operator: defaultOperator(request),
          notice: NOTICES[query(request, 'done')],
        }),
      );
    }),
  );

  const search = async (
    request: FastifyRequest,
    reply: FastifyReply,
    input: { address: string; channel: string },
    liftProblems?: readonly string[],
    status = 200,
  ) => {
    const channel = input.channel === 'email' || input.channel === 'sms' ? input.channel : undefined;
    const base = {
      address: input.address,
      channel: input.channel,
      nextPageToken: '',
      operator: defaultOperator(request),
    };
    try {
      const found = await deps.suppressions.list({ channel, address: input.address, pageSize: 1, pageToken: '' });
      return html(
        reply,
        suppressionsPage({
          ...base,
          suppressions: found.suppressions,
          searched: input.address.trim() !== '',
          liftProblems,
        }),
        status,
      );
    } catch (error) {
      if (error instanceof InvalidArgumentError) {
        return html(
          reply,
          suppressionsPage({ ...base, suppressions: [], searched: false, problems: error.details }),
          400,
        );
      }
      throw error;
    }
  };

  app.post(
    '/console/suppressions/search',
    as('admin'),
    page(async (request, reply) => {
      const f = fields(request);
      return search(request, reply, { address: one(f, 'address'), channel: one(f, 'channel') });
    }),
  );

  app.post(
    '/console/suppressions/lift',
    as('admin'),
    page(async (request, reply) => {
      const f = fields(request);
      const channel = one(f, 'channel');
      try {
        // The existing lift (audit, replica, SuppressionLifted event): the console is one more caller.
        await deps.lifts.lift({
          channel: channel === 'email' || channel === 'sms' ? channel : undefined,
          address: one(f, 'address'),
          operator: one(f, 'operator'),
          principal: principal(request),
          reason: one(f, 'reason'),
        });
      } catch (error) {
        if (error instanceof InvalidArgumentError) {
          return search(request, reply, { address: one(f, 'address'), channel }, error.details, 400);
        }
        throw error;
      }
      return reply.redirect('/console/suppressions?done=lifted', 303);
    }),
  );
}
