// gRPC handlers of saved templates, and the content of a communication created from one.
import type { Channel, CommunicationServiceServer, CreateCommunicationRequest, Template } from '@dlr/contracts';
import { channelName, channelOf } from '@dlr/contracts';
import { InvalidArgumentError, unary, type Logger } from '@dlr/platform';
import type { ChannelName } from '../../domain/model.js';
import { decodeCursor, encodeCursor } from '../../domain/operator-actions.js';
import type { TemplateDoc, Templates } from '../../domain/templates.js';
import type { CreateInput } from '../../domain/validation.js';
import { principal } from './operator.js';

function channelsOf(channels: readonly Channel[], field: string): ChannelName[] {
  return channels.map((c, i) => {
    const name = channelName(c);
    if (name === undefined)
      throw new InvalidArgumentError('invalid communication', [`${field}[${i}]: must be CHANNEL_EMAIL or CHANNEL_SMS`]);
    return name;
  });
}

/** A request's content as our input (channels checked). */
export function contentOf(req: CreateCommunicationRequest, field = 'channels'): CreateInput {
  return {
    title: req.title,
    emailSubject: req.emailSubject,
    emailBody: req.emailBody,
    smsText: req.smsText,
    channels: channelsOf(req.channels, field),
    acknowledgementRequested: req.acknowledgementRequested,
    responseOptions: req.responseOptions,
  };
}

/**
 * The content a CreateCommunication asks for: its own, or its template's (then its own must be empty).
 * Throws InvalidArgumentError, NotFoundError.
 */
export async function requestedContent(req: CreateCommunicationRequest, templates: Templates): Promise<CreateInput> {
  if (req.templateId === '') return contentOf(req);
  const given =
    req.title !== '' ||
    req.emailSubject !== '' ||
    req.emailBody !== '' ||
    req.smsText !== '' ||
    req.channels.length > 0 ||
    req.acknowledgementRequested ||
    req.responseOptions.length > 0;
  if (given)
    throw new InvalidArgumentError('invalid communication', [
      'template_id: leave the content empty when creating from a template (edit the draft afterwards)',
    ]);
  return (await templates.get(req.templateId)).content;
}

function toTemplate(doc: TemplateDoc): Template {
  const c = doc.content;
  return {
    id: doc._id,
    name: doc.name,
    content: {
      title: c.title,
      emailSubject: c.emailSubject,
      emailBody: c.emailBody,
      smsText: c.smsText,
      channels: c.channels.map(channelOf),
      acknowledgementRequested: c.acknowledgementRequested,
      responseOptions: c.responseOptions,
      templateId: '',
    },
    createdAt: doc.createdAt,
    createdBy: doc.createdBy,
  };
}

/** CreateTemplate and ListTemplates. */
export function templatesGrpc(
  templates: Templates,
  logger: Logger,
): Pick<CommunicationServiceServer, 'createTemplate' | 'listTemplates'> {
  return {
    createTemplate: unary(logger, 'CreateTemplate', async (req, call) => {
      const content = req.content;
      if (!content) throw new InvalidArgumentError('invalid template', ['content: is required']);
      const doc = await templates.create({
        name: req.name,
        content: contentOf(content, 'content.channels'),
        principal: principal(call),
      });
      return { template: toTemplate(doc) };
    }),
    listTemplates: unary(logger, 'ListTemplates', async (req) => {
      const size = req.pageSize === 0 ? 50 : req.pageSize;
      if (size < 1 || size > 100) throw new InvalidArgumentError('invalid page_size', ['page_size: must be 1 to 100']);
      const docs = await templates.list(size + 1, decodeCursor(req.pageToken));
      const page = docs.slice(0, size);
      const last = page.at(-1);
      return {
        templates: page.map(toTemplate),
        nextPageToken: docs.length > size && last ? encodeCursor({ createdAt: last.createdAt, id: last._id }) : '',
      };
    }),
  };
}
