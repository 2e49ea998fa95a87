import { createHash, randomBytes } from 'node:crypto';
import { BUILT_IN_FIELDS, FIELD_NAME, MAX_FIELD_LENGTH, MAX_FIELDS, missingFields, usedFields } from './merge.js';
import { InvalidArgumentError } from '@dlr/core';
import type { ChannelName, CommunicationDoc, DeliveryDoc } from './model.js';
import { checkPhone, type PhoneRules } from './phone.js';

/** Most recipients one AddRecipients call may carry. */
export const MAX_BATCH = 1_000;
const MAX_RESPONSE_OPTIONS = 10;
const EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]{2,}$/;

/** What an operator asks for when creating a communication. */
export interface CreateInput {
  title: string;
  emailSubject: string;
  emailBody: string;
  smsText: string;
  channels: ChannelName[];
  acknowledgementRequested: boolean;
  responseOptions: string[];
}

/** A recipient row as given. */
export interface RecipientRow {
  externalId: string;
  name: string;
  email: string;
  phone: string;
  /** Channels the recipient asked not to be contacted on (their standing preference). */
  optedOut?: readonly ChannelName[];
  /** Extra values for merge fields (`{{street}}`): CSV columns beyond the known ones, or gRPC `fields`. */
  fields?: Readonly<Record<string, string>>;
}

/** Checks a create request; throws one {@link InvalidArgumentError} listing every problem. */
export function validateCreate(input: CreateInput): CreateInput {
  const problems: string[] = [];
  const title = input.title.trim();
  if (title === '') problems.push('title: is required');
  if (title.length > 200) problems.push('title: at most 200 characters');
  const channels = [...new Set(input.channels)];
  if (channels.length === 0) problems.push('channels: choose email, sms or both');
  if (channels.includes('email')) {
    if (input.emailSubject.trim() === '') problems.push('email_subject: is required for the email channel');
    if (input.emailBody.trim() === '') problems.push('email_body: is required for the email channel');
    if (input.emailSubject.length > 500) problems.push('email_subject: at most 500 characters');
  }
  if (channels.includes('sms')) {
    if (input.smsText.trim() === '') problems.push('sms_text: is required for the sms channel');
    if (input.smsText.length > 1_600) problems.push('sms_text: at most 1600 characters');
  }
  const options = input.responseOptions.map((o) => o.trim());
  if (options.length > MAX_RESPONSE_OPTIONS) problems.push(`response_options: at most ${MAX_RESPONSE_OPTIONS}`);
  if (options.some((o) => o === '' || o.length > 60)) problems.push('response_options: each 1 to 60 characters');
  if (new Set(options).size !== options.length) problems.push('response_options: must be unique');
  problems.push(...usedFields(input).problems);
  if (problems.length > 0) throw new InvalidArgumentError('invalid communication', problems);
  return { ...input, title, channels, responseOptions: options };
}

/** Normalizes an email address (trimmed, lower-cased) or returns undefined when it is not one. */
export function normalizeEmail(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  return EMAIL.test(v) && v.length <= 254 ? v : undefined;
}

/**
 * Normalizes a phone number to E.164 (national formats read in `rules.defaultRegion`), or undefined
 * when it is not an allocated number ({@link checkPhone} says why).
 */
export function normalizePhone(value: string, rules?: PhoneRules): string | undefined {
  return checkPhone(value, rules).phone;
}

/** A new communication ID. */
export function newCommunicationId(): string {
  return `c_${randomBytes(12).toString('base64url')}`;
}

/** The stable delivery ID of a recipient × channel in a communication (so a repeat finds the same record). */
export function deliveryId(communicationId: string, recipientKey: string, channel: ChannelName): string {
  const digest = createHash('sha256').update(`${communicationId}\n${recipientKey}\n${channel}`).digest();
  return `d_${digest.subarray(0, 16).toString('base64url')}`;
}

/** One problem with one field of one recipient row. */
export interface RowProblem {
  /** `name`, `email`, `phone`, `external_id`, `opt_out`, or `row` for the row as a whole. */
  readonly field: string;
  readonly problem: string;
}

/** A recipient row that passed {@link checkRecipientRow}: normalized, with its key and addresses. */
export interface CheckedRow {
  readonly recipientKey: string;
  readonly name: string;
  /** Address per channel of the communication the recipient can be reached on. */
  readonly addresses: Partial<Record<ChannelName, string>>;
  readonly optedOut: ReadonlySet<ChannelName>;
  /** Extra merge-field values (empty ones left out). */
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * Checks one recipient row against a communication's channels. A row needs an address for at least
 * one of those channels; a channel without an address is simply not sent (the preview says so).
 */
export function checkRecipientRow(
  row: RecipientRow,
  channels: readonly ChannelName[],
  rules?: PhoneRules,
  /** The merge fields the message uses: a row without a value for one is refused. */
  used: readonly string[] = [],
): { ok: CheckedRow; problems?: undefined } | { ok?: undefined; problems: RowProblem[] } {
  const name = row.name.trim();
  const email = row.email.trim() === '' ? '' : normalizeEmail(row.email);
  const phoneCheck = row.phone.trim() === '' ? { phone: '' } : checkPhone(row.phone, rules);
  const phone = phoneCheck.phone;
  const problems: RowProblem[] = [];
  if (name.length > 200) problems.push({ field: 'name', problem: 'at most 200 characters' });
  if (email === undefined) problems.push({ field: 'email', problem: 'not a valid email address' });
  if (phoneCheck.problem !== undefined) problems.push({ field: 'phone', problem: phoneCheck.problem });
  if (row.externalId.length > 200) problems.push({ field: 'external_id', problem: 'at most 200 characters' });
  const fields: Record<string, string> = {};
  const extra = Object.entries(row.fields ?? {});
  if (extra.length > MAX_FIELDS) problems.push({ field: 'fields', problem: `at most ${MAX_FIELDS} extra fields` });
  for (const [key, value] of extra) {
    if (!FIELD_NAME.test(key) || (BUILT_IN_FIELDS as readonly string[]).includes(key))
      problems.push({ field: 'fields', problem: `"${key}" is not a field name (lower-case letters, digits and _)` });
    else if (value.length > MAX_FIELD_LENGTH)
      problems.push({ field: key, problem: `at most ${MAX_FIELD_LENGTH} characters` });
    else if (value.trim() !== '') fields[key] = value.trim();
  }
  const missing = missingFields(used, {
    ...fields,
    name,
    external_id: row.externalId.trim(),
  });
  if (missing.length > 0)
    problems.push({
      field: 'fields',
      problem: `no value for ${missing.map((f) => `{{${f}}}`).join(', ')}, which the message uses`,
    });
  const addresses: Partial<Record<ChannelName, string>> = {};
  if (email && channels.includes('email')) addresses.email = email;
  if (phone && channels.includes('sms')) addresses.sms = phone;
  if (problems.length === 0 && Object.keys(addresses).length === 0) {
    problems.push({
      field: 'row',
      problem: `has no ${channels.map((c) => (c === 'email' ? 'email address' : 'phone number')).join(' or ')} for this communication's channels`,
    });
  }
  if (problems.length > 0) return { problems };
  const recipientKey =
    row.externalId.trim() !== '' ? `x:${row.externalId.trim()}` : `e:${email ?? ''}|p:${phone ?? ''}`;
  return { ok: { recipientKey, name, addresses, optedOut: new Set(row.optedOut ?? []), fields } };
}

/**
 * Turns a batch of recipient rows into delivery records, one per channel the recipient can be
 * reached on (a channel the recipient opted out of by preference is kept, marked `optedOut`). Throws
 * one {@link InvalidArgumentError} listing every bad row; nothing is half-accepted.
 */
export function planDeliveries(
  communication: Pick<CommunicationDoc, '_id' | 'channels'> &
    Partial<Pick<CommunicationDoc, 'emailSubject' | 'emailBody' | 'smsText'>>,
  rows: readonly RecipientRow[],
  now: Date,
  rules?: PhoneRules,
): { deliveries: DeliveryDoc[]; perRow: { index: number; deliveryId: string; channel: ChannelName }[] } {
  const problems: string[] = [];
  if (rows.length === 0) problems.push('recipients: at least one is required');
  if (rows.length > MAX_BATCH) problems.push(`recipients: at most ${MAX_BATCH} per call (got ${rows.length})`);
  const deliveries = new Map<string, DeliveryDoc>();
  const perRow: { index: number; deliveryId: string; channel: ChannelName }[] = [];
  const used = usedFields({
    emailSubject: communication.emailSubject ?? '',
    emailBody: communication.emailBody ?? '',
    smsText: communication.smsText ?? '',
  }).fields;
  rows.forEach((row, index) => {
    const at = `recipients[${index}]`;
    const checked = checkRecipientRow(row, communication.channels, rules, used);
    if (checked.problems) {
      problems.push(
        ...checked.problems.map((p) => (p.field === 'row' ? `${at}: ${p.problem}` : `${at}.${p.field}: ${p.problem}`)),
      );
      return;
    }
    const { recipientKey, name, addresses, optedOut, fields } = checked.ok;
    for (const channel of communication.channels) {
      const address = addresses[channel];
      if (address === undefined) continue;
      const id = deliveryId(communication._id, recipientKey, channel);
      perRow.push({ index, deliveryId: id, channel });
      if (!deliveries.has(id)) {
        deliveries.set(id, {
          _id: id,
          communicationId: communication._id,
          recipientKey,
          name,
          channel,
          address,
          createdAt: now,
          ...(optedOut.has(channel) ? { optedOut: true } : {}),
          ...(Object.keys(fields).length > 0 ? { fields } : {}),
        });
      }
    }
  });
  if (problems.length > 0)
    throw new InvalidArgumentError(
      `${problems.length} problem(s) in the recipients; none were added`,
      problems.slice(0, 100),
    );
  return { deliveries: [...deliveries.values()], perRow };
}
