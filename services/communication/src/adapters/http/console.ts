// The operator console: server-rendered pages under /console. Each route declares the role it needs
// (viewer reads, sender creates and sends, admin overrides); platform's access check enforces it.
import { randomBytes } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import { AppError, InvalidArgumentError, type Logger, type Role } from '@dlr/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Communications } from '../../domain/communications.js';
import { checkRecipientCsv } from '../../domain/csv.js';
import { usedFields } from '../../domain/merge.js';
import type { Erasures } from '../../domain/erasure.js';
import type { OperatorActions } from '../../domain/operator-actions.js';
import { erasureRoutes } from './erasure-console.js';
import { MAX_BATCH } from '../../domain/validation.js';
import { controlsRoutes, type ControlsConsoleDeps } from './controls-console.js';
import type { Drafts } from '../../domain/drafts.js';
import type { RecipientHistory } from '../../domain/history.js';
import { createInputOf, formOf, readCreateForm, templateRoutes } from './templates-console.js';
import type { Templates } from '../../domain/templates.js';
import { defaultOperator, fields, html, one, pageHandler, principal, query } from './console-kit.js';
import {
  communicationPage,
  createPage,
  historyPage,
  listPage,
  previewPage,
  deletePage,
  editPage,
  sendConfirmPage,
  type CommunicationPageModel,
  type CreateForm,
  type HistoryBy,
} from './views.js';

/** Largest upload the console accepts (a CSV of ~10 000 recipients). */
const UPLOAD_LIMIT = 5 * 1_048_576;

const as = (role: Role) => ({ config: { role } });

/** What the console needs. */
export interface ConsoleDeps {
  communications: Communications;
  actions: OperatorActions;
  /** Erase a person (admin); the form is left out when absent. */
  erasures?: Erasures;
  logger: Logger;
  /** Public base URL of the reporting service's pages, for links to the Delivery Report. */
  reportingPublicUrl: string | undefined;
  /** Cancel, audit log, suppression list (left out when absent). */
  controls?: ControlsConsoleDeps;
  /** Editing drafts (absent: the draft page has no edit, delete or remove controls). */
  drafts?: Drafts;
  /** The recipient history (the page only has its search form when absent). */
  history?: RecipientHistory;
  /** Saved templates (left out when absent). */
  templates?: Templates;
}

/**
 * Registers the console routes on the service's HTTP server (created with operator sign-in), in
 * their own plugin scope with its form and multipart parsers.
 */
export function registerConsole(root: FastifyInstance, deps: ConsoleDeps): void {
  root.register(async (app) => {
    await app.register(fastifyFormbody, { bodyLimit: 1_048_576 });
    await app.register(fastifyMultipart, {
      attachFieldsToBody: 'keyValues',
      limits: { fileSize: UPLOAD_LIMIT, files: 1, fields: 20, fieldSize: 1_048_576 },
    });
    consoleRoutes(app, deps);
  });
}

function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const { communications, actions, logger } = deps;
  if (deps.erasures) erasureRoutes(app, deps.erasures);
  if (deps.controls) controlsRoutes(app, { ...deps.controls, communications, logger });
  const reportBase = deps.reportingPublicUrl?.replace(/\/+$/, '');

  const page = pageHandler(logger);

  const showCommunication = async (
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    extra: Partial<CommunicationPageModel> = {},
    status = 200,
  ) => {
    const { communication, deliveryCount } = await communications.get(request.params.id);
    return html(
      reply,
      communicationPage({
        communication,
        deliveryCount,
        reportUrl: reportBase ? `${reportBase}/communications/${communication._id}` : undefined,
        operator: defaultOperator(request),
        // A fresh idempotency key per rendered form: submitting the same form twice resends once.
        resendRequestId: `r${Date.now().toString(36)}${randomBytes(9).toString('base64url')}`,
        editable: deps.drafts !== undefined,
        ...extra,
      }),
      status,
    );
  };

  app.get('/', as('viewer'), async (_request, reply) => reply.redirect('/console', 303));

  app.get(
    '/console',
    as('viewer'),
    page(async (request, reply) => {
      const list = await actions.list({ pageSize: 50, pageToken: query(request, 'page') });
      const deleted = query(request, 'done') === 'deleted' ? 'The draft was deleted.' : undefined;
      return html(reply, listPage(list.communications, list.nextPageToken, deleted));
    }),
  );

  const emptyForm: CreateForm = {
    title: '',
    emailSubject: '',
    emailBody: '',
    smsText: '',
    channels: ['email', 'sms'],
    acknowledgementRequested: true,
    responseOptions: '',
    templateName: '',
  };
  app.get(
    '/console/communications/new',
    as('sender'),
    page(async (request, reply) => {
      // From a saved template: the form starts with its content.
      const templateId = query(request, 'template');
      if (templateId === '' || !deps.templates) return html(reply, createPage(emptyForm));
      return html(reply, createPage(formOf((await deps.templates.get(templateId)).content)));
    }),
  );
  if (deps.templates) templateRoutes(app, deps.templates, page);

  app.post(
    '/console/communications',
    as('sender'),
    page(async (request, reply) => {
      const form = readCreateForm(fields(request));
      const input = createInputOf(form);
      if (!input) return html(reply, createPage(form, ['channels: choose email, sms or both']), 400);
      try {
        const doc = await communications.create(input);
        return reply.redirect(`/console/communications/${doc._id}?done=created`, 303);
      } catch (error) {
        if (error instanceof InvalidArgumentError) return html(reply, createPage(form, error.details), 400);
        throw error;
      }
    }),
  );

  const NOTICES: Record<string, string> = {
    created: 'Draft created. Add recipients, check the preview, then send.',
    sent: 'Sending started. Follow it in the Delivery Report.',
    override: "Recipients' preferences are overridden for this communication.",
    edited: 'Draft saved.',
    cancelled:
      'The send is cancelled: nothing more is handed to a provider; messages not yet sent become Not Sent (cancelled).',
  };
  app.get<{ Params: { id: string } }>(
    '/console/communications/:id',
    as('viewer'),
    page(async (request, reply) => {
      const done = query(request, 'done');
      const added = /^\d{1,7}$/.test(query(request, 'added')) ? Number(query(request, 'added')) : undefined;
      const resendId = query(request, 'resend');
      const lastResend = /^[A-Za-z0-9_-]{1,100}$/.test(resendId)
        ? ((await actions.resendResult(request.params.id, resendId)) ?? undefined)
        : undefined;
      return showCommunication(request, reply, {
        notice: added !== undefined ? `${added} recipient row(s) added.` : NOTICES[done],
        lastResend,
      });
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/recipients',
    as('sender'),
    page(async (request, reply) => {
      const form = fields(request);
      const pasted = one(form, 'csv');
      const file = one(form, 'file');
      const text = file.trim() !== '' ? file : pasted;
      const { communication } = await communications.get(request.params.id);
      const checked = checkRecipientCsv(
        text,
        communication.channels,
        deps.communications.phoneRules,
        usedFields(communication).fields,
      );
      if (checked.problems.length > 0) {
        return showCommunication(request, reply, { csvProblems: checked.problems, csvText: pasted }, 400);
      }
      let added = 0;
      try {
        for (let i = 0; i < checked.rows.length; i += MAX_BATCH) {
          await communications.addRecipients(communication._id, checked.rows.slice(i, i + MAX_BATCH));
          added += Math.min(MAX_BATCH, checked.rows.length - i);
        }
      } catch (error) {
        if (error instanceof AppError && error.code !== 'internal' && error.code !== 'unavailable') {
          const problems = error.details.length ? error.details : [error.message];
          return showCommunication(
            request,
            reply,
            { formProblems: { form: 'recipients', problems }, csvText: pasted },
            error.code === 'failed_precondition' ? 409 : 400,
          );
        }
        throw error;
      }
      return reply.redirect(`/console/communications/${communication._id}?added=${added}`, 303);
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/console/communications/:id/preview',
    as('sender'),
    page(async (request, reply) => {
      const token = query(request, 'page');
      const recipientKey = query(request, 'recipient').slice(0, 600);
      const preview = await actions.preview({
        communicationId: request.params.id,
        pageSize: 200,
        pageToken: token,
        recipientKey,
      });
      const removed = /^\d{1,7}$/.test(query(request, 'removed')) ? Number(query(request, 'removed')) : undefined;
      const removable = deps.drafts !== undefined && preview.communication.state === 'draft';
      return html(
        reply,
        previewPage(
          preview,
          token,
          removable,
          removed === undefined ? undefined : `${removed} delivery record(s) removed.`,
        ),
      );
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/override',
    as('admin'),
    page(async (request, reply) => {
      const f = fields(request);
      try {
        await actions.overridePreferences({
          communicationId: request.params.id,
          operator: one(f, 'operator'),
          principal: principal(request),
          reason: one(f, 'reason'),
        });
      } catch (error) {
        if (
          error instanceof InvalidArgumentError ||
          (error instanceof AppError && error.code === 'failed_precondition')
        ) {
          const problems = error.details.length ? error.details : [error.message];
          return showCommunication(
            request,
            reply,
            { formProblems: { form: 'override', problems } },
            error.code === 'invalid_argument' ? 400 : 409,
          );
        }
        throw error;
      }
      return reply.redirect(`/console/communications/${request.params.id}?done=override`, 303);
    }),
  );

  // The confirmation step: Send only happens from its form (confirm=yes); anything else shows it.
  const confirmSend = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const preview = await actions.preview({ communicationId: request.params.id, pageSize: 1, pageToken: '' });
    if (preview.communication.state !== 'draft')
      return reply.redirect(`/console/communications/${request.params.id}`, 303);
    return html(reply, sendConfirmPage(preview));
  };
  app.get<{ Params: { id: string } }>('/console/communications/:id/send', as('sender'), page(confirmSend));

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/send',
    as('sender'),
    page(async (request, reply) => {
      if (one(fields(request), 'confirm') !== 'yes') return confirmSend(request, reply);
      try {
        await communications.send(request.params.id);
      } catch (error) {
        if (error instanceof AppError && error.code === 'failed_precondition') {
          return showCommunication(request, reply, { formProblems: { form: 'send', problems: [error.message] } }, 409);
        }
        throw error;
      }
      return reply.redirect(`/console/communications/${request.params.id}?done=sent`, 303);
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/resend',
    as('sender'),
    page(async (request, reply) => {
      const f = fields(request);
      const scope = one(f, 'scope');
      const requestId = one(f, 'request_id');
      try {
        await actions.resend({
          communicationId: request.params.id,
          requestId,
          scope: scope === 'not_delivered' || scope === 'not_answered' ? scope : undefined,
          operator: one(f, 'operator'),
          principal: principal(request),
        });
      } catch (error) {
        if (error instanceof AppError && error.code !== 'internal' && error.code !== 'not_found') {
          const problems = error.details.length ? error.details : [error.message];
          const status = error.code === 'invalid_argument' ? 400 : error.code === 'unavailable' ? 503 : 409;
          return showCommunication(request, reply, { formProblems: { form: 'resend', problems } }, status);
        }
        throw error;
      }
      return reply.redirect(
        `/console/communications/${request.params.id}?resend=${encodeURIComponent(requestId)}`,
        303,
      );
    }),
  );

  if (deps.drafts) draftRoutes(app, deps.drafts, communications, page);

  app.get(
    '/console/recipients',
    as('viewer'),
    page(async (request, reply) => {
      // `key` alone: the links of older pages and the preview.
      const byParam = query(request, 'by');
      const by: HistoryBy =
        byParam === 'phone' || byParam === 'external_id' || byParam === 'key'
          ? byParam
          : query(request, 'key')
            ? 'key'
            : 'email';
      const q = query(request, 'q') || query(request, 'key');
      const view = { by, q, entries: [], nextPageToken: '', statusChecked: true, reportBase };
      if (q.trim() === '' || !deps.history) return html(reply, historyPage(view));
      try {
        const h = await deps.history.page(
          {
            email: by === 'email' ? q : undefined,
            phone: by === 'phone' ? q : undefined,
            externalId: by === 'external_id' ? q : undefined,
            recipientKey: by === 'key' ? q : undefined,
          },
          { pageSize: 100, pageToken: query(request, 'page') },
        );
        return html(reply, historyPage({ ...view, ...h }));
      } catch (error) {
        if (error instanceof InvalidArgumentError)
          return html(reply, historyPage({ ...view, problems: error.details }), 400);
        throw error;
      }
    }),
  );
}

/** Edit, delete and remove recipients from a draft (sender). */
function draftRoutes(
  app: FastifyInstance,
  drafts: Drafts,
  communications: Communications,
  page: ReturnType<typeof pageHandler>,
): void {
  app.get<{ Params: { id: string } }>(
    '/console/communications/:id/edit',
    as('sender'),
    page(async (request, reply) => {
      const { communication: c } = await communications.get(request.params.id);
      if (c.state !== 'draft') return reply.redirect(`/console/communications/${c._id}`, 303);
      const form: CreateForm = {
        title: c.title,
        emailSubject: c.emailSubject,
        emailBody: c.emailBody,
        smsText: c.smsText,
        channels: c.channels,
        acknowledgementRequested: c.acknowledgementRequested,
        responseOptions: c.responseOptions.join('\n'),
        templateName: '',
      };
      return html(reply, editPage(c._id, form));
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/edit',
    as('sender'),
    page(async (request, reply) => {
      const form = readCreateForm(fields(request));
      const id = request.params.id;
      const input = createInputOf(form);
      if (!input) return html(reply, editPage(id, form, ['channels: choose email, sms or both']), 400);
      try {
        // The form carries every field: all are set.
        await drafts.update(id, input);
      } catch (error) {
        if (error instanceof InvalidArgumentError) return html(reply, editPage(id, form, error.details), 400);
        throw error; // FAILED_PRECONDITION (sent meanwhile): a 409 page
      }
      return reply.redirect(`/console/communications/${id}?done=edited`, 303);
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/console/communications/:id/delete',
    as('sender'),
    page(async (request, reply) => {
      const { communication, deliveryCount } = await communications.get(request.params.id);
      if (communication.state !== 'draft') return reply.redirect(`/console/communications/${communication._id}`, 303);
      return html(reply, deletePage(communication, deliveryCount));
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/delete',
    as('sender'),
    page(async (request, reply) => {
      await drafts.delete(request.params.id, principal(request), one(fields(request), 'reason'));
      return reply.redirect('/console?done=deleted', 303);
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/recipients/remove',
    as('sender'),
    page(async (request, reply) => {
      const key = one(fields(request), 'key');
      const r = await drafts.removeRecipients(request.params.id, [
        { recipientKey: key, externalId: '', email: '', phone: '' },
      ]);
      return reply.redirect(`/console/communications/${request.params.id}/preview?removed=${r.removed}`, 303);
    }),
  );
}
