// The operator console: server-rendered pages under /console, protected by operator sign-in.
import { randomBytes } from 'node:crypto';
import {
  AppError,
  InvalidArgumentError,
  NotFoundError,
  operatorOf,
  type Logger,
  type OperatorAuth,
} from '@dlr/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Communications } from '../../domain/communications.js';
import { checkRecipientCsv } from '../../domain/csv.js';
import type { ChannelName } from '../../domain/model.js';
import type { OperatorActions } from '../../domain/operator-actions.js';
import { MAX_BATCH } from '../../domain/validation.js';
import { parseMultipart, type FormFields } from './multipart.js';
import {
  communicationPage,
  createPage,
  errorPage,
  historyPage,
  listPage,
  previewPage,
  type CommunicationPageModel,
  type CreateForm,
} from './views.js';

/** Largest upload the console accepts (a CSV of ~10 000 recipients). */
const UPLOAD_LIMIT = 5 * 1_048_576;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
} as const;

function html(reply: FastifyReply, body: string, status = 200) {
  return reply.status(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(body);
}

function fields(request: FastifyRequest): FormFields {
  const body = request.body;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) {
    const out: FormFields = {};
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = [v];
      else if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string');
    }
    return out;
  }
  return {};
}

const one = (f: FormFields, name: string) => f[name]?.[0] ?? '';

function query(request: FastifyRequest, name: string): string {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** The name to prefill in audit fields: the signed-in subject unless it is the shared static-token one. */
function defaultOperator(request: FastifyRequest): string {
  const op = operatorOf(request);
  return op && op.via !== 'token' && op.subject !== 'operator' ? op.subject : '';
}

function principal(request: FastifyRequest): string {
  const op = operatorOf(request);
  return op ? `${op.via}:${op.subject}` : 'unknown';
}

/** Registers the console routes (and the sign-in form) on the service's HTTP server. */
export function registerConsole(
  app: FastifyInstance,
  deps: {
    communications: Communications;
    actions: OperatorActions;
    auth: OperatorAuth;
    logger: Logger;
    /** Public base URL of the reporting service's pages, for links to the Delivery Report. */
    reportingPublicUrl: string | undefined;
  },
): void {
  const { communications, actions, auth, logger } = deps;
  const reportBase = deps.reportingPublicUrl?.replace(/\/+$/, '');
  // Repeated keys (checkboxes) become arrays; registered before the sign-in form's own parser.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1_048_576 },
    (_request, body, done) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(body as string)) {
        const prev = out[k];
        out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      done(null, out);
    },
  );
  auth.protect(app, {
    isPublic: (path) => !(path === '/console' || path.startsWith('/console/')),
    title: 'Operator console',
  });
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'buffer', bodyLimit: UPLOAD_LIMIT },
    (request, body, done) => {
      const parsed = parseMultipart(body as Buffer, request.headers['content-type'] ?? '');
      if (!parsed) done(new InvalidArgumentError('the form could not be read (malformed multipart body)'), undefined);
      else done(null, parsed);
    },
  );

  /** Runs a page handler; errors become an HTML page with the right status, never a stack trace. */
  const page =
    (fn: (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      try {
        return await fn(request, reply);
      } catch (error) {
        if (error instanceof NotFoundError) return html(reply, errorPage('Not found', error.message), 404);
        if (error instanceof AppError && error.code !== 'internal') {
          const status =
            { invalid_argument: 400, failed_precondition: 409, unavailable: 503 }[error.code as string] ?? 400;
          const detail = error.details.length ? `${error.message}: ${error.details.join('; ')}` : error.message;
          return html(reply, errorPage('That did not work', detail), status);
        }
        logger.error({ err: error, url: request.routeOptions.url }, 'console request failed');
        return html(reply, errorPage('Something went wrong', 'internal error; nothing was changed by this page'), 500);
      }
    };

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
        ...extra,
      }),
      status,
    );
  };

  app.get('/', async (_request, reply) => reply.redirect('/console', 303));

  app.get(
    '/console',
    page(async (request, reply) => {
      const list = await actions.list({ pageSize: 50, pageToken: query(request, 'page') });
      return html(reply, listPage(list.communications, list.nextPageToken));
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
  };
  app.get(
    '/console/communications/new',
    page(async (_request, reply) => html(reply, createPage(emptyForm))),
  );

  app.post(
    '/console/communications',
    page(async (request, reply) => {
      const f = fields(request);
      const form: CreateForm = {
        title: one(f, 'title'),
        emailSubject: one(f, 'email_subject'),
        emailBody: one(f, 'email_body'),
        smsText: one(f, 'sms_text'),
        channels: f['channels'] ?? [],
        acknowledgementRequested: one(f, 'acknowledgement_requested') === 'yes',
        responseOptions: one(f, 'response_options'),
      };
      const bad = form.channels.filter((c) => c !== 'email' && c !== 'sms');
      if (bad.length > 0) return html(reply, createPage(form, ['channels: choose email, sms or both']), 400);
      try {
        const doc = await communications.create({
          title: form.title,
          emailSubject: form.emailSubject,
          emailBody: form.emailBody,
          smsText: form.smsText,
          channels: form.channels as ChannelName[],
          acknowledgementRequested: form.acknowledgementRequested,
          responseOptions: form.responseOptions
            .split(/\r?\n/)
            .map((o) => o.trim())
            .filter((o) => o !== ''),
        });
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
  };
  app.get<{ Params: { id: string } }>(
    '/console/communications/:id',
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
    page(async (request, reply) => {
      const form = fields(request);
      const pasted = one(form, 'csv');
      const file = one(form, 'file');
      const text = file.trim() !== '' ? file : pasted;
      const { communication } = await communications.get(request.params.id);
      const checked = checkRecipientCsv(text, communication.channels);
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
    page(async (request, reply) => {
      const token = query(request, 'page');
      const preview = await actions.preview({ communicationId: request.params.id, pageSize: 200, pageToken: token });
      return html(reply, previewPage(preview, token));
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/override',
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

  app.post<{ Params: { id: string } }>(
    '/console/communications/:id/send',
    page(async (request, reply) => {
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

  app.get(
    '/console/recipients',
    page(async (request, reply) => {
      const key = query(request, 'key');
      if (key === '') return html(reply, historyPage('', [], '', reportBase));
      try {
        const h = await actions.history({ recipientKey: key, pageSize: 100, pageToken: query(request, 'page') });
        return html(reply, historyPage(key, h.entries, h.nextPageToken, reportBase));
      } catch (error) {
        if (error instanceof InvalidArgumentError)
          return html(reply, historyPage(key, [], '', reportBase, error.details), 400);
        throw error;
      }
    }),
  );
}
