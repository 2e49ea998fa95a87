// Server-rendered pages of the operator console, built with @dlr/html: every interpolation is escaped.
import type { SuppressionReason } from '@dlr/contracts';
import { html, join, type SafeHtml } from '@dlr/html';
import type { ChannelName, CommunicationDoc, ResendDoc } from '../../domain/model.js';
import type { TemplateDoc } from '../../domain/templates.js';
import type { MessageSample, PreviewPage } from '../../domain/operator-actions.js';
import type { RecipientHistoryEntry } from '../../domain/history.js';
import { STATUSES } from '@dlr/status-engine';
import type { Outcome } from '../../domain/preview.js';
import type { CsvProblem } from '../../domain/csv.js';

const NL = html`\n`;
const CHANNEL_LABEL = { email: 'Email', sms: 'SMS' } as const;
const STATE_LABEL = { draft: 'Draft', sending: 'Sending', sent: 'Sent' } as const;
const OUTCOME_LABEL: Record<Outcome, string> = {
  will_send: 'Will be sent',
  missing_address: 'Not sent: no address',
  opted_out: 'Not sent: opted out by preference',
  preference_overridden: 'Will be sent: preference overridden',
  suppressed: 'Not sent: suppressed',
};

/** Why an address is suppressed, as the preview says it. */
const SUPPRESSION_LABEL: Record<SuppressionReason, string> = {
  opted_out: 'opted out',
  complaint: 'complaint',
  permanent_bounce: 'permanent bounce',
};

/** A time as the console shows it (UTC). */
export function time(d: Date | undefined): SafeHtml {
  if (!d) return html`—`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}

/**
 * The page frame: skip link, navigation, one h1, sign-out. `refreshSeconds`: the page reloads itself
 * (work running in the background shows its progress without a script).
 */
export function layout(title: string, body: SafeHtml, refreshSeconds?: number): string {
  return String(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refreshSeconds !== undefined && html`<meta http-equiv="refresh" content="${String(refreshSeconds)}">`}
<title>${title} — Operator console</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;line-height:1.45}
header{background:#12355b;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header a{color:#fff}header form{margin-left:auto}
main{padding:1rem 1.5rem;max-width:70rem}
a{color:#0b4f9c}a:focus,button:focus,input:focus,textarea:focus,select:focus{outline:3px solid #f5a623;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#000;padding:.5rem}
label{display:block;font-weight:600;margin-top:.8rem}
input[type=text],input:not([type]),textarea{width:100%;max-width:40rem;box-sizing:border-box;padding:.4rem;border:1px solid #555;border-radius:3px;font:inherit}
fieldset{border:1px solid #999;margin:.8rem 0;max-width:40rem}fieldset label{display:inline;font-weight:normal;margin-right:1rem}
button{font:inherit;padding:.4rem 1rem;margin-top:.8rem;background:#12355b;color:#fff;border:0;border-radius:3px;cursor:pointer}
button.danger{background:#9b1c1c}
table{border-collapse:collapse;margin:.5rem 0}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ccc;vertical-align:top}
.notice{background:#e6f4ea;border-left:4px solid #1e7e34;padding:.5rem 1rem}
.errors{background:#fdecea;border-left:4px solid #9b1c1c;padding:.5rem 1rem}
.hint{color:#444;font-size:.95em}section{margin:1.5rem 0}
pre.message{white-space:pre-wrap;font:inherit;background:#f4f4f4;border:1px solid #ccc;padding:.5rem 1rem;max-width:40rem}
</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Console"><a href="/console">Communications</a> · <a href="/console/communications/new">New communication</a> · <a href="/console/templates">Templates</a> · <a href="/console/recipients">Recipient history</a> · <a href="/console/suppressions">Suppressions</a> · <a href="/console/audit">Audit log</a></nav>
<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
</header>
<main id="main">
${body}
</main>
</body>
</html>
`);
}

/** A list of problems, announced to screen readers. */
export function errorList(title: string, problems: readonly string[]): SafeHtml {
  if (problems.length === 0) return html``;
  return html`<div class="errors" role="alert"><p><strong>${title}</strong></p><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`;
}

/** A confirmation of the last action. */
export function notice(text: string | undefined): SafeHtml {
  return html`${text && html`<p class="notice" role="status">${text}</p>`}`;
}

/** The list of communications. */
export function listPage(
  communications: readonly CommunicationDoc[],
  nextPageToken: string,
  noticeText?: string,
): string {
  const rows = join(
    communications.map(
      (c) => html`<tr><td><a href="/console/communications/${c._id}">${c.title}</a></td><td>${STATE_LABEL[c.state]}</td>
<td>${c.channels.map((ch) => CHANNEL_LABEL[ch]).join(', ')}</td><td>${time(c.createdAt)}</td><td>${time(c.sentAt)}</td></tr>`,
    ),
    NL,
  );
  return layout(
    'Communications',
    html`<h1>Communications</h1>
${notice(noticeText)}
<p><a href="/console/communications/new">Create a communication</a></p>
${
  communications.length === 0
    ? html`<p>No communications yet.</p>`
    : html`<table><caption class="hint">Newest first</caption><thead><tr><th scope="col">Title</th><th scope="col">State</th><th scope="col">Channels</th><th scope="col">Created</th><th scope="col">Sent</th></tr></thead><tbody>${rows}</tbody></table>`
}
${nextPageToken && html`<p><a href="/console?page=${encodeURIComponent(nextPageToken)}">Older communications</a></p>`}`,
  );
}

/** Values of the create form, as typed. */
export interface CreateForm {
  title: string;
  emailSubject: string;
  emailBody: string;
  smsText: string;
  channels: string[];
  acknowledgementRequested: boolean;
  responseOptions: string;
  /** The name to save the form under as a template (its second button). */
  templateName: string;
}

/** The form that creates a communication (a draft), or saves its content as a template. */
export function createPage(form: CreateForm, problems: readonly string[] = []): string {
  const checked = (on: boolean) => on && html` checked`;
  return layout(
    'New communication',
    html`<h1>New communication</h1>
${errorList('The communication was not created:', problems)}
<form method="post" action="/console/communications">
<label for="title">Title</label><input id="title" name="title" type="text" maxlength="200" required value="${form.title}">
<fieldset><legend>Channels</legend>
<input id="ch-email" type="checkbox" name="channels" value="email"${checked(form.channels.includes('email'))}><label for="ch-email">Email</label>
<input id="ch-sms" type="checkbox" name="channels" value="sms"${checked(form.channels.includes('sms'))}><label for="ch-sms">SMS</label>
</fieldset>
<label for="email_subject">Email subject</label><input id="email_subject" name="email_subject" type="text" maxlength="500" value="${form.emailSubject}">
<label for="email_body">Email body</label><textarea id="email_body" name="email_body" rows="6">${form.emailBody}</textarea>
<label for="sms_text">SMS text</label><textarea id="sms_text" name="sms_text" rows="3" aria-describedby="sms-hint">${form.smsText}</textarea>
<p id="sms-hint" class="hint">The preview shows how many SMS segments it takes, with the acknowledge link.</p>
<fieldset><legend>Answers</legend>
<input id="ack" type="checkbox" name="acknowledgement_requested" value="yes"${checked(form.acknowledgementRequested)}><label for="ack">Ask recipients to acknowledge</label>
</fieldset>
<label for="response_options">Response options (one per line, optional)</label><textarea id="response_options" name="response_options" rows="3">${form.responseOptions}</textarea>
<p class="hint">Merge fields: <code>{{name}}</code>, <code>{{external_id}}</code> and any other column of the recipients' CSV (<code>{{street}}</code> for a column "Street") are filled in per recipient; a recipient without a value for one is refused when added.</p>
<button type="submit">Create draft</button>
<fieldset><legend>Or save this as a template</legend>
<label for="template_name">Template name</label><input id="template_name" name="template_name" type="text" maxlength="200" value="${form.templateName}">
<button type="submit" formaction="/console/templates">Save as template</button>
</fieldset>
</form>`,
  );
}

/** The saved templates, newest first, each with a link that starts a communication from it. */
export function templatesPage(templates: readonly TemplateDoc[]): string {
  const rows = join(
    templates.map(
      (t) =>
        html`<tr><td>${t.name}</td><td>${t.content.title}</td><td>${t.content.channels.map((c) => CHANNEL_LABEL[c]).join(', ')}</td><td>${time(t.createdAt)}</td><td>${t.createdBy}</td><td><a href="/console/communications/new?template=${encodeURIComponent(t._id)}">Use for a new communication</a></td></tr>`,
    ),
    NL,
  );
  return layout(
    'Templates',
    html`<h1>Templates</h1>
<p>Save a template from the <a href="/console/communications/new">new communication</a> form.</p>
${
  templates.length === 0
    ? html`<p>No templates yet.</p>`
    : html`<table><caption class="hint">Newest first</caption><thead><tr><th scope="col">Name</th><th scope="col">Title</th><th scope="col">Channels</th><th scope="col">Saved</th><th scope="col">By</th><th scope="col"><span class="skip">Use</span></th></tr></thead><tbody>${rows}</tbody></table>`
}`,
  );
}

/** What the communication page shows besides the communication. */
export interface CommunicationPageModel {
  communication: CommunicationDoc;
  deliveryCount: number;
  reportUrl: string | undefined;
  notice?: string | undefined;
  csvProblems?: readonly CsvProblem[];
  csvText?: string;
  formProblems?: { form: 'recipients' | 'override' | 'resend' | 'send'; problems: readonly string[] };
  operator: string;
  resendRequestId: string;
  /** Show the edit, delete and remove controls of a draft. */
  editable?: boolean;
  lastResend?: ResendDoc | undefined;
}

/** One communication with the actions its state allows. */
export function communicationPage(m: CommunicationPageModel): string {
  const c = m.communication;
  const base = html`/console/communications/${c._id}`;
  const problemsFor = (form: NonNullable<CommunicationPageModel['formProblems']>['form'], title: string) =>
    m.formProblems?.form === form && errorList(title, m.formProblems.problems);
  const csvErrors = m.csvProblems?.length
    ? html`<div class="errors" role="alert"><p><strong>No recipients were added: ${m.csvProblems.length} problem(s). Fix these rows and submit again.</strong></p>
<table><thead><tr><th scope="col">Row</th><th scope="col">Field</th><th scope="col">Problem</th></tr></thead><tbody>
${join(
  m.csvProblems.map(
    (p) => html`<tr><td>${p.row === 0 ? '—' : p.row}</td><td>${p.field}</td><td>${p.problem}</td></tr>`,
  ),
  NL,
)}
</tbody></table></div>`
    : undefined;
  const override = c.preferenceOverride
    ? html`<p><strong>Recipients' preferences are overridden</strong> by ${c.preferenceOverride.operator} at ${time(c.preferenceOverride.at)}: “${c.preferenceOverride.reason}”.</p>`
    : undefined;
  const draftActions = html`
<section aria-labelledby="add-h"><h2 id="add-h">Add recipients</h2>
${csvErrors}${problemsFor('recipients', 'No recipients were added:')}
<p class="hint">One recipient per row: <code>name,email,phone,external_id,opt_out</code>, or a header row naming these columns in any order.
Phones in international format (+61400000000), or national format when the service has a default region (PHONE_DEFAULT_REGION). <code>opt_out</code> lists the channels the recipient asked not to get (email, sms; separated by ;).
If any row has a problem, nothing is added and every problem is listed with its row number.</p>
<form method="post" action="${base}/recipients" enctype="multipart/form-data">
<label for="csv">Paste recipients</label><textarea id="csv" name="csv" rows="8">${m.csvText ?? ''}</textarea>
<label for="file">Or upload a CSV file</label><input id="file" name="file" type="file" accept=".csv,text/csv,text/plain">
<button type="submit">Add recipients</button>
</form></section>
<section aria-labelledby="override-h"><h2 id="override-h">Override recipients' preferences</h2>
${problemsFor('override', 'Preferences were not overridden:')}
${
  c.preferenceOverride
    ? override
    : html`<p class="hint">For emergencies only: recipients who opted out of a channel by preference will get it too. Suppressed addresses (opt-out links, hard bounces, complaints) are still skipped. Your name, the time and the reason are recorded and cannot be withdrawn.</p>
<form method="post" action="${base}/override">
<label for="ov-operator">Your name</label><input id="ov-operator" name="operator" type="text" maxlength="200" required value="${m.operator}">
<label for="ov-reason">Reason</label><textarea id="ov-reason" name="reason" rows="2" maxlength="1000" required></textarea>
<button type="submit" class="danger">Override preferences</button>
</form>`
}</section>
<section aria-labelledby="send-h"><h2 id="send-h">Send</h2>
${problemsFor('send', 'The communication was not sent:')}
<p>Check the <a href="${base}/preview">delivery preview</a> first: who gets which channel, who will not and why.</p>
<p><a href="${base}/send" id="send-link">Send to ${m.deliveryCount} delivery records…</a></p>
</section>
${
  m.editable &&
  html`<section aria-labelledby="fix-h"><h2 id="fix-h">Fix the draft</h2>
<p><a href="${base}/edit">Edit the message and channels</a> · <a href="${base}/preview">See and remove recipients</a> · <a href="${base}/delete">Delete the draft…</a></p></section>`
}`;
  const sentActions = html`
<section aria-labelledby="resend-h"><h2 id="resend-h">Resend</h2>
${problemsFor('resend', 'Nothing was resent:')}
${m.lastResend && html`<p class="notice" role="status" id="resend-progress">Resend ${m.lastResend.requestId} by ${m.lastResend.operator}: ${resendProgress(m.lastResend)}</p>`}
<p class="hint">A new attempt on the same delivery records. Failed and Opted-out records are never resent.</p>
<form method="post" action="${base}/resend">
<input type="hidden" name="request_id" value="${m.resendRequestId}">
<fieldset><legend>Resend to</legend>
<input id="scope-nd" type="radio" name="scope" value="not_delivered" checked><label for="scope-nd">Records not yet Delivered</label>
<input id="scope-na" type="radio" name="scope" value="not_answered"><label for="scope-na">Records not yet answered</label>
</fieldset>
<label for="rs-operator">Your name</label><input id="rs-operator" name="operator" type="text" maxlength="200" required value="${m.operator}">
<button type="submit">Resend</button>
</form></section>`;
  return layout(
    c.title,
    html`<h1>${c.title}</h1>
${notice(m.notice)}
${
  m.formProblems && (m.formProblems.form === 'resend' ? c.state !== 'sent' : c.state !== 'draft')
    ? errorList('That did not work:', m.formProblems.problems)
    : undefined
}
<dl>
<dt>State</dt><dd>${STATE_LABEL[c.state]}</dd>
<dt>ID</dt><dd><code>${c._id}</code></dd>
<dt>Channels</dt><dd>${c.channels.map((ch) => CHANNEL_LABEL[ch]).join(', ')}</dd>
<dt>Delivery records</dt><dd>${m.deliveryCount}</dd>
<dt>Created</dt><dd>${time(c.createdAt)}</dd>
${c.sentAt && html`<dt>Sent</dt><dd>${time(c.sentAt)}</dd>`}
</dl>
${c.state !== 'draft' && override}
${cancelSection(c)}
<p>${m.reportUrl && html`<a href="${m.reportUrl}">Delivery Report</a> · `}<a href="${base}/preview">Delivery preview</a></p>
<details><summary>Message</summary>
${c.channels.includes('email') && html`<h2>Email</h2><p><strong>${c.emailSubject}</strong></p><pre style="white-space:pre-wrap">${c.emailBody}</pre>`}
${c.channels.includes('sms') && html`<h2>SMS</h2><p>${c.smsText}</p>`}
${c.acknowledgementRequested && html`<p>Recipients are asked to acknowledge.</p>`}
${c.responseOptions.length > 0 && html`<p>Response options: ${c.responseOptions.join(' · ')}</p>`}
</details>
${c.state === 'draft' ? draftActions : c.state === 'sent' ? sentActions : html`<p>Sending is in progress; resend is possible once it is sent.</p>`}`,
    m.lastResend?.state === 'running' && m.lastResend.problem === undefined ? 3 : undefined,
  );
}

/** A resend's state in words: its result once done, else its progress (records looked at of the total). */
export function resendProgress(r: ResendDoc): string {
  if (r.state === 'done') return `finished: ${r.resentCount} delivery record(s) got a new attempt.`;
  const counts =
    r.total === undefined
      ? 'starting'
      : `${r.examined ?? 0} of ${r.total} record(s) looked at, ${r.resentCount} given a new attempt so far`;
  return r.problem === undefined
    ? `in progress: ${counts}. This page refreshes itself.`
    : `stopped: ${r.problem} (${counts}). Send the same resend again to carry it on.`;
}

/** One recipient's message as it will be sent (merge fields filled in). */
function sampleSection(m: MessageSample, channels: readonly ChannelName[]) {
  return html`<section aria-labelledby="message-h"><h2 id="message-h">Message to ${m.name || m.recipientKey}</h2>
${channels.includes('email') && html`<h3>Email</h3><p><strong>Subject:</strong> ${m.emailSubject}</p><pre class="message">${m.emailBody}</pre>`}
${channels.includes('sms') && html`<h3>SMS</h3><pre class="message">${m.smsText}</pre>${m.sms && html`<p class="hint">${m.sms.segments} segment${m.sms.segments === 1 ? '' : 's'} with the link.</p>`}`}
</section>`;
}

/** The delivery preview. */
export function previewPage(p: PreviewPage, pageToken: string, removable = false, noticeText?: string): string {
  const c = p.communication;
  const base = html`/console/communications/${c._id}`;
  const summary = join(
    p.channels.map(
      (
        s,
      ) => html`<tr><th scope="row">${CHANNEL_LABEL[s.channel]}</th><td>${s.will_send + s.preference_overridden}</td><td>${s.missing_address}</td>
<td>${s.opted_out}</td><td>${s.preference_overridden}</td><td>${p.suppressionChecked ? s.suppressed : 'not checked'}</td></tr>`,
    ),
    NL,
  );
  const rows = join(
    p.recipients.map(
      (
        r,
      ) => html`<tr><td>${r.name || '(no name)'}</td>${r.channels.map((ch) => html`<td>${OUTCOME_LABEL[ch.outcome]}${ch.suppressionReason && ` (${SUPPRESSION_LABEL[ch.suppressionReason]})`}</td>`)}
<td><a href="${base}/preview?recipient=${encodeURIComponent(r.recipientKey)}${pageToken && `&page=${encodeURIComponent(pageToken)}`}#message-h">Message</a> · <a href="/console/recipients?by=key&amp;q=${encodeURIComponent(r.recipientKey)}">History</a></td>
${removable && html`<td><form method="post" action="${base}/recipients/remove"><input type="hidden" name="key" value="${r.recipientKey}"><button type="submit" class="danger" aria-label="Remove ${r.name || 'this recipient'}">Remove</button></form></td>`}</tr>`,
    ),
    NL,
  );
  const sms = p.sms
    ? html`<section aria-labelledby="sms-h"><h2 id="sms-h">SMS length</h2>
<p><strong>${p.sms.segments} segment${p.sms.segments === 1 ? '' : 's'}</strong> per SMS recipient:
${p.sms.encoding === 'gsm7' ? 'GSM-7' : 'UCS-2 (the text has characters outside the GSM alphabet)'},
${p.sms.length} of ${p.sms.perSegment} characters per segment${p.sms.linkAllowance > 0 && `, counting ${p.sms.linkAllowance} for the acknowledge link`}.</p></section>`
    : undefined;
  return layout(
    `Delivery preview — ${c.title}`,
    html`<h1>Delivery preview: ${c.title}</h1>
<p><a href="${base}">Back to the communication</a></p>
${notice(noticeText)}
${c.preferenceOverride && html`<p><strong>Preferences overridden</strong> by ${c.preferenceOverride.operator} at ${time(c.preferenceOverride.at)}: “${c.preferenceOverride.reason}”.</p>`}
${!p.suppressionChecked && html`<p class="notice" role="note">The suppression list could not be consulted: only missing addresses and preferences are shown here. Suppressed addresses are still skipped (Not Sent, suppressed) when sending.</p>`}
<section aria-labelledby="sum-h"><h2 id="sum-h">Summary: ${p.recipientCount} recipients</h2>
<p id="preview-progress" role="status">${
      p.progress.finished
        ? html`All ${p.progress.checked} delivery records checked (suppression list as of ${time(p.progress.at)}).`
        : html`<strong>Counting:</strong> ${p.progress.checked} of ${p.progress.total} delivery records checked so far; the counts below are partial. This page refreshes itself.`
    }</p>
<table><thead><tr><th scope="col">Channel</th><th scope="col">Will be sent</th><th scope="col">No address</th><th scope="col">Opted out by preference</th><th scope="col">Preference overridden</th><th scope="col">Suppressed</th></tr></thead>
<tbody>${summary}</tbody></table></section>
${sms}
${p.sample && sampleSection(p.sample, c.channels)}
<section aria-labelledby="rec-h"><h2 id="rec-h">Recipients</h2>
<table><thead><tr><th scope="col">Recipient</th>${c.channels.map((ch) => html`<th scope="col">${CHANNEL_LABEL[ch]}</th>`)}<th scope="col">Message, history</th>${removable && html`<th scope="col">Remove</th>`}</tr></thead>
<tbody>${rows}</tbody></table>
${pageToken && html`<p><a href="${base}/preview">First page</a></p>`}
${p.nextPageToken && html`<p><a href="${base}/preview?page=${encodeURIComponent(p.nextPageToken)}">Next recipients</a></p>`}
</section>
${c.state === 'draft' && html`<p><a href="${base}/send">Send to ${p.deliveryCount} delivery records…</a></p>`}`,
    p.progress.finished ? undefined : 2,
  );
}

/** How the history page looks a recipient up. */
export type HistoryBy = 'email' | 'phone' | 'external_id' | 'key';

const HISTORY_BY: Record<HistoryBy, string> = {
  email: 'Email address',
  phone: 'Phone number',
  external_id: 'External ID',
  key: 'Recipient key',
};

/** A recipient's message history: found by email, phone, external ID or key, with each message's status. */
export function historyPage(m: {
  by: HistoryBy;
  q: string;
  entries: readonly RecipientHistoryEntry[];
  nextPageToken: string;
  statusChecked: boolean;
  reportBase: string | undefined;
  problems?: readonly string[];
}): string {
  const problems = m.problems ?? [];
  const rows = join(
    m.entries.map((e) => {
      const report =
        m.reportBase &&
        html` · <a href="${m.reportBase}/communications/${e.delivery.communicationId}">Delivery Report</a>`;
      const status = e.heldByPreference
        ? 'Held back: opted out by preference'
        : e.status
          ? STATUSES[e.status].label
          : e.communication?.state === 'draft'
            ? 'Draft: not sent yet'
            : 'Unknown';
      return html`<tr><td><a href="/console/communications/${e.delivery.communicationId}">${e.communication?.title ?? e.delivery.communicationId}</a>${report}</td>
<td>${CHANNEL_LABEL[e.delivery.channel]}</td><td>${status}${e.attempt > 1 && ` (attempt ${e.attempt})`}</td><td>${e.response || '—'}</td>
<td>${time(e.communication?.sentAt ?? e.delivery.createdAt)}${!e.communication?.sentAt && html` <span class="hint">(added)</span>`}</td></tr>`;
    }),
    NL,
  );
  const options = join(
    (Object.keys(HISTORY_BY) as HistoryBy[]).map(
      (b) => html`<option value="${b}"${b === m.by && html` selected`}>${HISTORY_BY[b]}</option>`,
    ),
    NL,
  );
  const more = new URLSearchParams({ by: m.by, q: m.q, page: m.nextPageToken }).toString();
  return layout(
    'Recipient history',
    html`<h1>Recipient history</h1>
${errorList('Could not look up the history:', problems)}
<form method="get" action="/console/recipients">
<label for="by">Find by</label><select id="by" name="by">${options}</select>
<label for="q">Email, phone or external ID</label><input id="q" name="q" type="text" value="${m.q}" aria-describedby="q-hint" required>
<p id="q-hint" class="hint">Email addresses match in any case; phone numbers in any format (+44 7700 900123, or national format with the service's default region).</p>
<button type="submit">Show history</button>
</form>
${!m.statusChecked && m.entries.length > 0 && html`<p class="notice" role="note">The reporting service could not be reached: statuses are not shown.</p>`}
${
  m.q && problems.length === 0
    ? m.entries.length === 0
      ? html`<p>No messages for this recipient.</p>`
      : html`<table id="history"><caption class="hint">Newest first</caption><thead><tr><th scope="col">Communication</th><th scope="col">Channel</th><th scope="col">Status</th><th scope="col">Response</th><th scope="col">When</th></tr></thead><tbody>${rows}</tbody></table>`
    : undefined
}
${m.nextPageToken && html`<p><a href="/console/recipients?${more}">Older</a></p>`}`,
  );
}

/** A page for an error (not found, conflict, unavailable). */
export function errorPage(title: string, message: string): string {
  return layout(
    title,
    html`<h1>${title}</h1><p role="alert">${message}</p><p><a href="/console">Back to the communications</a></p>`,
  );
}

/** The communication page's cancel part: who cancelled, or a link to the confirmation step. */
export function cancelSection(c: CommunicationDoc): SafeHtml | undefined {
  const x = c.cancellation;
  if (x) {
    return html`<section aria-labelledby="cancel-h"><h2 id="cancel-h">Cancelled</h2>
<p class="notice" role="status"><strong>The send was cancelled</strong> by <code>${x.principal}</code> at ${time(x.at)}: “${x.reason}”.
Messages not yet handed to a provider are Not Sent (cancelled); messages already sent keep their status.</p></section>`;
  }
  if (c.state === 'draft') return undefined;
  return html`<section aria-labelledby="cancel-h"><h2 id="cancel-h">Cancel the send</h2>
<p class="hint">Stops sending: nothing more is handed to a provider. Messages already sent cannot be recalled.</p>
<p><a href="/console/communications/${c._id}/cancel">Cancel sending…</a></p></section>`;
}

/** The form that edits a draft, prefilled with what it says now (or what was typed). */
export function editPage(id: string, form: CreateForm, problems: readonly string[] = []): string {
  const checked = (on: boolean) => on && html` checked`;
  const base = html`/console/communications/${id}`;
  return layout(
    'Edit draft',
    html`<h1>Edit draft</h1>
<p><a href="${base}">Back to the communication</a></p>
${errorList('The draft was not changed:', problems)}
<form method="post" action="${base}/edit">
<label for="title">Title</label><input id="title" name="title" type="text" maxlength="200" required value="${form.title}">
<fieldset><legend>Channels</legend>
<input id="ch-email" type="checkbox" name="channels" value="email"${checked(form.channels.includes('email'))}><label for="ch-email">Email</label>
<input id="ch-sms" type="checkbox" name="channels" value="sms"${checked(form.channels.includes('sms'))}><label for="ch-sms">SMS</label>
</fieldset>
<p class="hint">Removing a channel removes its delivery records. A channel added reaches recipients added from now on: add earlier recipients again to include them.</p>
<label for="email_subject">Email subject</label><input id="email_subject" name="email_subject" type="text" maxlength="500" value="${form.emailSubject}">
<label for="email_body">Email body</label><textarea id="email_body" name="email_body" rows="6">${form.emailBody}</textarea>
<label for="sms_text">SMS text</label><textarea id="sms_text" name="sms_text" rows="3">${form.smsText}</textarea>
<fieldset><legend>Answers</legend>
<input id="ack" type="checkbox" name="acknowledgement_requested" value="yes"${checked(form.acknowledgementRequested)}><label for="ack">Ask recipients to acknowledge</label>
</fieldset>
<label for="response_options">Response options (one per line, optional)</label><textarea id="response_options" name="response_options" rows="3">${form.responseOptions}</textarea>
<button type="submit">Save changes</button>
</form>`,
  );
}

/** The confirmation step before deleting a draft. */
export function deletePage(c: CommunicationDoc, deliveryCount: number): string {
  const base = html`/console/communications/${c._id}`;
  return layout(
    `Delete draft — ${c.title}`,
    html`<h1>Delete the draft “${c.title}”?</h1>
<p>The draft and its ${deliveryCount} delivery record(s) are deleted and leave the Delivery Report. This cannot be undone.</p>
<form method="post" action="${base}/delete">
<label for="del-reason">Reason (optional, kept in the audit log)</label><textarea id="del-reason" name="reason" rows="2" maxlength="1000"></textarea>
<button type="submit" class="danger">Delete draft</button>
</form>
<p><a href="${base}">Back: keep the draft</a></p>`,
  );
}

/** The confirmation step before Send: how many people on which channels, from the preview. */
export function sendConfirmPage(p: PreviewPage): string {
  const c = p.communication;
  const base = html`/console/communications/${c._id}`;
  const lines = join(
    p.channels.map((s) => {
      const sent = s.will_send + s.preference_overridden;
      const held = s.missing_address + s.opted_out + (p.suppressionChecked ? s.suppressed : 0);
      return html`<li><strong>${CHANNEL_LABEL[s.channel]}: ${sent} ${sent === 1 ? 'person' : 'people'}</strong>${held > 0 && html` (${held} not reached on this channel: no address, opted out or suppressed)`}</li>`;
    }),
    NL,
  );
  return layout(
    `Confirm send — ${c.title}`,
    html`<h1>Send “${c.title}”?</h1>
<section aria-labelledby="who-h"><h2 id="who-h">${p.recipientCount} recipient${p.recipientCount === 1 ? '' : 's'}</h2>
<ul id="send-summary">${lines}</ul>
${!p.suppressionChecked && html`<p class="hint">The suppression list could not be consulted: suppressed addresses are still skipped when sending.</p>`}
${p.sms && html`<p>Each SMS takes ${p.sms.segments} segment${p.sms.segments === 1 ? '' : 's'}.</p>`}
<p><a href="${base}/preview">See every recipient in the preview</a></p></section>
${
  p.progress.finished
    ? html`<form method="post" action="${base}/send"><input type="hidden" name="confirm" value="yes"><button type="submit">Confirm: send now</button></form>`
    : html`<p role="status"><strong>Counting:</strong> ${p.progress.checked} of ${p.progress.total} delivery records checked so far; the figures above are partial. Confirm appears when the count is done (this page refreshes itself).</p>`
}
<p><a href="${base}">Back: do not send</a></p>`,
    p.progress.finished ? undefined : 2,
  );
}
