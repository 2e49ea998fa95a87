// Console pages of saved templates: the list, saving the new-communication form as one, and the
// form a template starts.
import type { Role } from '@dlr/platform';
import { InvalidArgumentError } from '@dlr/platform';
import type { FastifyInstance } from 'fastify';
import type { ChannelName } from '../../domain/model.js';
import type { Templates } from '../../domain/templates.js';
import type { CreateInput } from '../../domain/validation.js';
import type { pageHandler } from './console-kit.js';
import { fields, html, one, principal } from './console-kit.js';
import { createPage, templatesPage, type CreateForm } from './views.js';

const as = (role: Role) => ({ config: { role } });

/** The create form's fields as typed. */
export function readCreateForm(f: Record<string, string[]>): CreateForm {
  return {
    title: one(f, 'title'),
    emailSubject: one(f, 'email_subject'),
    emailBody: one(f, 'email_body'),
    smsText: one(f, 'sms_text'),
    channels: f['channels'] ?? [],
    acknowledgementRequested: one(f, 'acknowledgement_requested') === 'yes',
    responseOptions: one(f, 'response_options'),
    templateName: one(f, 'template_name'),
  };
}

/** The form as a communication's content; undefined when a channel is not one we know. */
export function createInputOf(form: CreateForm): CreateInput | undefined {
  if (form.channels.some((c) => c !== 'email' && c !== 'sms')) return undefined;
  return {
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
  };
}

/** A template's content as the create form. */
export function formOf(content: CreateInput): CreateForm {
  return { ...content, responseOptions: content.responseOptions.join('\n'), templateName: '' };
}

/** GET /console/templates (viewer), POST /console/templates (sender: the create form, saved). */
export function templateRoutes(app: FastifyInstance, templates: Templates, page: ReturnType<typeof pageHandler>) {
  app.get(
    '/console/templates',
    as('viewer'),
    page(async (_request, reply) => html(reply, templatesPage(await templates.list(100)))),
  );
  app.post(
    '/console/templates',
    as('sender'),
    page(async (request, reply) => {
      const form = readCreateForm(fields(request));
      const content = createInputOf(form);
      if (!content) return html(reply, createPage(form, ['channels: choose email, sms or both']), 400);
      try {
        await templates.create({ name: form.templateName, content, principal: principal(request) });
      } catch (error) {
        if (error instanceof InvalidArgumentError) return html(reply, createPage(form, error.details), 400);
        throw error;
      }
      return reply.redirect('/console/templates', 303);
    }),
  );
}
