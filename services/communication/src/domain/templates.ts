// Saved templates: a communication's content kept under a name, to start new communications from.
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, NotFoundError, type Logger } from '@dlr/core';
import { validateCreate, type CreateInput } from './validation.js';

/** A template as stored. */
export interface TemplateDoc {
  _id: string;
  name: string;
  /** The content a communication created from it starts with (checked as a communication's). */
  content: CreateInput;
  createdAt: Date;
  /** The authenticated caller who saved it. */
  createdBy: string;
}

/** Where templates are kept. */
export interface TemplateStore {
  insert(doc: TemplateDoc): Promise<void>;
  get(id: string): Promise<TemplateDoc | null>;
  /** Newest first; `after` is the last template of the previous page. */
  list(limit: number, after?: { createdAt: Date; id: string }): Promise<TemplateDoc[]>;
}

/** The template use cases. */
export class Templates {
  constructor(
    private readonly store: TemplateStore,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Saves a template; throws InvalidArgumentError listing every problem (nothing saved). */
  async create(input: { name: string; content: CreateInput; principal: string }): Promise<TemplateDoc> {
    const name = input.name.trim();
    const problems: string[] = [];
    if (name === '') problems.push('name: is required (how operators find the template)');
    if (name.length > 200) problems.push('name: at most 200 characters');
    let content: CreateInput | undefined;
    try {
      content = validateCreate(input.content);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      problems.push(...error.details);
    }
    if (problems.length > 0 || !content) throw new InvalidArgumentError('invalid template', problems);
    const doc: TemplateDoc = {
      _id: `t_${randomBytes(12).toString('base64url')}`,
      name,
      content,
      createdAt: this.clock(),
      createdBy: input.principal,
    };
    await this.store.insert(doc);
    this.logger.info({ templateId: doc._id, principal: input.principal }, 'template saved');
    return doc;
  }

  /** One template; throws NotFoundError. */
  async get(id: string): Promise<TemplateDoc> {
    const doc = id.startsWith('t_') && id.length < 100 ? await this.store.get(id) : null;
    if (!doc) throw new NotFoundError(`template ${id} not found`);
    return doc;
  }

  list(limit: number, after?: { createdAt: Date; id: string }): Promise<TemplateDoc[]> {
    return this.store.list(limit, after);
  }
}
