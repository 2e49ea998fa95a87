// Merge fields: `{{name}}`, `{{external_id}}` and the recipient's own columns in the subject, email body
// and SMS text, filled in per recipient before the message is handed to dispatch. Mustache's parser
// and renderer (logic-less; only plain variables are allowed here, no sections or partials).
import Mustache from 'mustache';
import type { CommunicationDoc, DeliveryDoc } from './model.js';

/** The fields every recipient has. */
export const BUILT_IN_FIELDS = ['name', 'external_id'] as const;
/** How a field is named: what a CSV header becomes (lower case, `_` for spaces and dashes). */
export const FIELD_NAME = /^[a-z][a-z0-9_]{0,49}$/;
/** Most extra fields per recipient, and characters per value. */
export const MAX_FIELDS = 50;
export const MAX_FIELD_LENGTH = 500;

/** The content fields that may carry merge fields. */
export type MergeableContent = Pick<CommunicationDoc, 'emailSubject' | 'emailBody' | 'smsText'>;

const TEXTS = [
  ['email_subject', 'emailSubject'],
  ['email_body', 'emailBody'],
  ['sms_text', 'smsText'],
] as const;

/**
 * The merge fields a content uses, sorted, and its problems (an unclosed tag, a section, a bad name),
 * each prefixed with the content field it is in.
 */
export function usedFields(content: MergeableContent): { fields: string[]; problems: string[] } {
  const fields = new Set<string>();
  const problems: string[] = [];
  for (const [label, key] of TEXTS) {
    let tokens: ReturnType<typeof Mustache.parse>;
    try {
      tokens = Mustache.parse(content[key]);
    } catch (error) {
      problems.push(`${label}: ${error instanceof Error ? error.message : 'not a valid merge-field text'}`);
      continue;
    }
    for (const token of tokens) {
      const [type, value] = token as unknown as [string, string];
      if (type === 'text' || type === '!') continue;
      if (type !== 'name' && type !== '&') {
        problems.push(`${label}: "{{${type}${value}}}" is not a merge field; use {{field}} only`);
      } else if (!FIELD_NAME.test(value)) {
        problems.push(
          `${label}: "{{${value}}}" is not a field name (lower-case letters, digits and _, starting with a letter)`,
        );
      } else fields.add(value);
    }
  }
  return { fields: [...fields].sort(), problems };
}

/** The values a recipient's message is filled with. */
export function fieldValues(delivery: Pick<DeliveryDoc, 'name' | 'recipientKey' | 'fields'>): Record<string, string> {
  const externalId = delivery.recipientKey.startsWith('x:') ? delivery.recipientKey.slice(2) : '';
  // No prototype: a field named like an Object method is simply missing.
  return Object.assign(Object.create(null) as Record<string, string>, delivery.fields, {
    name: delivery.name,
    external_id: externalId,
  });
}

/** Used fields a recipient has no value for (empty counts as missing: no holes in a message). */
export function missingFields(used: readonly string[], values: Readonly<Record<string, string>>): string[] {
  return used.filter((f) => !Object.hasOwn(values, f) || (values[f] ?? '').trim() === '');
}

/** The content with a recipient's values filled in (plain text: nothing is escaped). */
export function mergeContent<C extends MergeableContent>(content: C, values: Readonly<Record<string, string>>): C {
  const view = Object.assign(Object.create(null) as Record<string, string>, values);
  const render = (text: string) =>
    text.includes('{{') ? Mustache.render(text, view, {}, { escape: (s: string) => s }) : text;
  return {
    ...content,
    emailSubject: render(content.emailSubject),
    emailBody: render(content.emailBody),
    smsText: render(content.smsText),
  };
}
