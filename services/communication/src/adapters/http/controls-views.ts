// Pages of the operator controls: cancel a send (with a confirmation step), the audit log, the
// suppression list. Built with @dlr/html: every interpolation is escaped.
import { html, join } from '@dlr/html';
import { AUDIT_KINDS, type AuditEntry, type AuditKind } from '../../domain/audit-log.js';
import type { CommunicationDoc } from '../../domain/model.js';
import type { SuppressionEntry } from '../../domain/suppression-list.js';
import { errorList, layout, notice, time } from './views.js';

const NL = html`\n`;
const KIND_LABEL: Record<AuditKind, string> = {
  override: 'Preference override',
  resend: 'Resend',
  cancel: 'Cancel',
  lift: 'Suppression lifted',
  erasure: 'Erasure',
  delete_draft: 'Draft deleted',
};
const REASON_LABEL: Record<string, string> = {
  opted_out: 'Opted out',
  complaint: 'Complaint',
  permanent_bounce: 'Permanent bounce',
};
const CHANNEL_LABEL = { email: 'Email', sms: 'SMS' } as const;

/** The confirmation step of a cancel. */
export function cancelConfirmPage(
  c: CommunicationDoc,
  deliveryCount: number,
  problems: readonly string[] = [],
): string {
  const base = html`/console/communications/${c._id}`;
  return layout(
    `Cancel sending — ${c.title}`,
    html`<h1>Cancel sending: ${c.title}</h1>
${errorList('The send was not cancelled:', problems)}
<p><strong>Are you sure?</strong> This stops the send of “${c.title}” to its ${deliveryCount} delivery records:
every message not yet handed to a provider becomes Not Sent (cancelled). Messages already sent keep their status
and cannot be recalled. This cannot be undone. Your sign-in, the time and the reason are recorded in the audit log.</p>
<form method="post" action="${base}/cancel">
<label for="cancel-reason">Reason</label><textarea id="cancel-reason" name="reason" rows="2" maxlength="1000" required></textarea>
<button type="submit" class="danger">Yes, cancel the send</button>
</form>
<p><a href="${base}">No, go back</a></p>`,
  );
}

/** The audit log's filters, as typed. */
export interface AuditForm {
  kind: string;
  actor: string;
  communication: string;
  from: string;
  to: string;
}

function auditQuery(f: AuditForm, page?: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f) as [string, string][]) if (v !== '') q.set(k, v);
  if (page) q.set('page', page);
  return q.toString();
}

/** The audit log, newest first, with its filters. */
export function auditPage(
  form: AuditForm,
  entries: readonly AuditEntry[],
  nextPageToken: string,
  problems: readonly string[] = [],
): string {
  const rows = join(
    entries.map(
      (e) => html`<tr><td>${time(e.at)}</td><td>${KIND_LABEL[e.kind] ?? e.kind}</td><td><code>${e.actor}</code></td>
<td>${e.communicationId ? html`<a href="/console/communications/${e.communicationId}">${e.communicationId}</a>` : html`—`}</td>
<td>${e.reason}</td><td>${e.summary}</td></tr>`,
    ),
    NL,
  );
  const selected = (k: string) => form.kind === k && html` selected`;
  return layout(
    'Audit log',
    html`<h1>Audit log</h1>
${errorList('Could not read the audit log:', problems)}
<form method="get" action="/console/audit">
<label for="a-kind">Action</label><select id="a-kind" name="kind"><option value="">Any</option>
${AUDIT_KINDS.map((k) => html`<option value="${k}"${selected(k)}>${KIND_LABEL[k]}</option>`)}</select>
<label for="a-actor">Who (signed-in caller, e.g. token:admin-token)</label><input id="a-actor" name="actor" type="text" value="${form.actor}">
<label for="a-comm">Communication ID</label><input id="a-comm" name="communication" type="text" value="${form.communication}">
<label for="a-from">From (UTC, e.g. 2026-12-03T09:00)</label><input id="a-from" name="from" type="text" value="${form.from}">
<label for="a-to">Until (UTC)</label><input id="a-to" name="to" type="text" value="${form.to}">
<button type="submit">Filter</button>
</form>
${
  problems.length > 0
    ? undefined
    : entries.length === 0
      ? html`<p>No audited actions match.</p>`
      : html`<table><caption class="hint">Newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Who</th><th scope="col">Communication</th><th scope="col">Reason</th><th scope="col">What</th></tr></thead><tbody>${rows}</tbody></table>`
}
${nextPageToken && html`<p><a href="/console/audit?${auditQuery(form, nextPageToken)}">Older entries</a></p>`}`,
  );
}

/** What the suppressions page shows. */
export interface SuppressionsModel {
  address: string;
  channel: string;
  /** The entries shown (the one found, or a page of the list). */
  suppressions: readonly SuppressionEntry[];
  /** True when `suppressions` is the result of a search by address. */
  searched: boolean;
  nextPageToken: string;
  operator: string;
  notice?: string | undefined;
  problems?: readonly string[];
  liftProblems?: readonly string[];
}

/** The suppression list: search by address, lift what was found. */
export function suppressionsPage(m: SuppressionsModel): string {
  const selected = (k: string) => m.channel === k && html` selected`;
  const rows = join(
    m.suppressions.map(
      (
        s,
      ) => html`<tr><td>${CHANNEL_LABEL[s.channel]}</td><td>${REASON_LABEL[s.reason] ?? s.reason}</td><td>${time(s.suppressedAt)}</td>
<td><a href="/console/communications/${s.communicationId}">${s.communicationId}</a></td><td><code>${s.deliveryId}</code></td><td><code>${s._id.slice(0, 12)}…</code></td></tr>`,
    ),
    NL,
  );
  const found = m.searched ? m.suppressions[0] : undefined;
  const lift =
    found &&
    html`<section aria-labelledby="lift-h"><h2 id="lift-h">Lift this suppression</h2>
${errorList('The suppression was not lifted:', m.liftProblems ?? [])}
<p class="hint">Later communications will be sent to this address again. Your sign-in, the time and the reason are recorded in the audit log.</p>
<form method="post" action="/console/suppressions/lift">
<input type="hidden" name="channel" value="${found.channel}">
<input type="hidden" name="address" value="${m.address}">
<label for="l-operator">Your name</label><input id="l-operator" name="operator" type="text" maxlength="200" required value="${m.operator}">
<label for="l-reason">Reason</label><textarea id="l-reason" name="reason" rows="2" maxlength="1000" required></textarea>
<button type="submit" class="danger">Lift suppression</button>
</form></section>`;
  return layout(
    'Suppressions',
    html`<h1>Suppressions</h1>
${notice(m.notice)}
${errorList('Could not search:', m.problems ?? [])}
<form method="post" action="/console/suppressions/search">
<label for="s-address">Email address or phone number</label><input id="s-address" name="address" type="text" value="${m.address}" aria-describedby="s-hint">
<p id="s-hint" class="hint">Exact match after normalising (case of the email, spaces in the phone). Phones in international format (+61400000000), or national format when the service has a default region.</p>
<label for="s-channel">Channel</label><select id="s-channel" name="channel"><option value="">From the address</option><option value="email"${selected('email')}>Email</option><option value="sms"${selected('sms')}>SMS</option></select>
<button type="submit">Search</button>
</form>
${
  m.searched && m.suppressions.length === 0
    ? html`<p role="status">This address is not suppressed.</p>`
    : m.suppressions.length === 0
      ? html`<p>No suppressed addresses.</p>`
      : html`<table><caption class="hint">${m.searched ? 'The suppression of this address' : 'Newest first; search by address to lift one'}</caption><thead><tr><th scope="col">Channel</th><th scope="col">Reason</th><th scope="col">Since</th><th scope="col">From communication</th><th scope="col">Delivery record</th><th scope="col">Key</th></tr></thead><tbody>${rows}</tbody></table>`
}
${lift}
${m.nextPageToken && html`<p><a href="/console/suppressions?page=${encodeURIComponent(m.nextPageToken)}">Older suppressions</a></p>`}`,
  );
}
