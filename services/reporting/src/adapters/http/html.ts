// Server-rendered pages: the Delivery Report, a record's timeline and the Message Delivery Report.
// They work without JavaScript (tables, filters, paging, CSV, Refresh List); /assets/report.js adds
// live updates, Copy IDs and the timeline dialog. Every interpolated value goes through `escapeHtml`.
import { STATUS_KEYS, STATUSES, type StatusCounts, type StatusKey } from '@dlr/status-engine';
import type { TimelineEntry } from '../../domain/model.js';
import { totalsTable, type DeliveryRecordView, type MessagePage, type RecordPage } from '../../queries.js';

/** Escapes text for an HTML element body or a double- or single-quoted attribute. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const e = escapeHtml;

/** Colour and shape of each status's icon: distinct by both, so it reads without colour too. */
const ICON_SHAPES: Record<StatusKey, { color: string; svg: string }> = {
  pending: {
    color: '#6b7280',
    svg: '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="2"/><path d="M8 4v4l3 2" fill="none" stroke="currentColor" stroke-width="1.6"/>',
  },
  sent: { color: '#2563eb', svg: '<path d="M2 3l12 5-12 5 2-5z" fill="currentColor"/>' },
  not_sent: {
    color: '#b91c1c',
    svg: '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="2"/><path d="M4 12L12 4" stroke="currentColor" stroke-width="2"/>',
  },
  bounced_temporarily: {
    color: '#d97706',
    svg: '<path d="M13 8a5 5 0 1 1-2-4" fill="none" stroke="currentColor" stroke-width="2"/><path d="M9 1l3 3-3 2z" fill="currentColor"/>',
  },
  delivered: {
    color: '#15803d',
    svg: '<path d="M2 8.5l4 4 8-9" fill="none" stroke="currentColor" stroke-width="2.4"/>',
  },
  read: {
    color: '#0f766e',
    svg: '<path d="M1 8s3-5 7-5 7 5 7 5-3 5-7 5-7-5-7-5z" fill="none" stroke="currentColor" stroke-width="1.6"/><circle cx="8" cy="8" r="2.2" fill="currentColor"/>',
  },
  failed: { color: '#991b1b', svg: '<path d="M3 3l10 10M13 3L3 13" stroke="currentColor" stroke-width="2.6"/>' },
  acknowledged: {
    color: '#7c3aed',
    svg: '<rect x="1.5" y="1.5" width="13" height="13" rx="2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M4 8.5l3 3 5-6" fill="none" stroke="currentColor" stroke-width="2"/>',
  },
  responded: { color: '#6d28d9', svg: '<path d="M2 3h12v8H7l-3 3v-3H2z" fill="currentColor"/>' },
  opted_out: {
    color: '#374151',
    svg: '<circle cx="8" cy="8" r="6.5" fill="currentColor"/><path d="M4.5 8h7" stroke="#fff" stroke-width="2"/>',
  },
};

/** The inline SVG icon of a status (decorative: the label beside it says the same). */
export function statusIcon(status: StatusKey): string {
  const shape = ICON_SHAPES[status];
  return `<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" style="color:${shape.color}">${shape.svg}</svg>`;
}

/** Every status's icon, for the page script. */
export function statusIcons(): Record<StatusKey, string> {
  return Object.fromEntries(STATUS_KEYS.map((k) => [k, statusIcon(k)])) as Record<StatusKey, string>;
}

function statusCell(r: { status: StatusKey; statusLabel: string; reasonCode: string }): string {
  return `<td class="status" data-status="${e(r.status)}">${statusIcon(r.status)} <span class="label">${e(r.statusLabel)}</span>${
    r.reasonCode ? ` <small class="reason">(${e(r.reasonCode)})</small>` : ''
  }</td>`;
}

function channelLabel(channel: string | null): string {
  return channel === 'sms' ? 'SMS' : channel === 'email' ? 'Email' : '—';
}

function time(d: Date): string {
  const iso = d.toISOString();
  return `<time datetime="${e(iso)}">${e(iso.replace('T', ' ').slice(0, 19))} UTC</time>`;
}

/** One row of the Delivery Report (also what the page script renders for live updates). */
export function recordRow(r: DeliveryRecordView): string {
  return `<tr data-id="${e(r.id)}" data-status="${e(r.status)}">
        <td><a class="record-link" href="/delivery-records/${e(r.id)}"><code>${e(r.id)}</code></a></td>
        <td class="recipient">${e(r.recipientName)}<br><small>${e(r.address)}</small></td>
        <td class="channel">${e(channelLabel(r.channel))}</td>
        ${statusCell(r)}
        <td class="response">${e(r.response)}</td>
        <td class="updated">${time(r.updatedAt)}</td>
      </tr>`;
}

/** Horizontal bar chart of counts per status (inline SVG, no script). */
export function countsChart(counts: StatusCounts): string {
  const max = Math.max(1, ...STATUS_KEYS.map((k) => counts[k]));
  const rowH = 20;
  const bars = STATUS_KEYS.map((k, i) => {
    const w = Math.round((counts[k] / max) * 260);
    const y = i * rowH;
    return `<g data-status="${e(k)}"><text x="0" y="${y + 14}" font-size="12">${e(STATUSES[k].label)}</text><rect class="bar" x="140" y="${y + 3}" height="14" width="${w}" fill="${ICON_SHAPES[k].color}"/><text class="bar-value" x="${146 + w}" y="${y + 14}" font-size="12">${e(counts[k])}</text></g>`;
  }).join('');
  return `<svg class="chart" role="img" aria-label="Records per status" viewBox="0 0 460 ${STATUS_KEYS.length * rowH}" width="460" height="${STATUS_KEYS.length * rowH}">${bars}</svg>`;
}

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.5rem; }
  header form { margin-left: auto; }
  .summary { display: flex; flex-wrap: wrap; gap: 1rem 3rem; align-items: flex-start; }
  ul.counts { list-style: none; padding: 0; margin: 0; columns: 2; }
  ul.counts li { padding: .1rem 0; } ul.counts a { color: inherit; }
  .toolbar { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 1rem 0; }
  .toolbar .button, button { padding: .35rem .8rem; border: 1px solid #888; border-radius: 4px; background: #f5f5f5; color: #111; text-decoration: none; font: inherit; cursor: pointer; }
  form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; padding: .6rem; background: #f7f7f9; border-radius: 6px; }
  form.filters fieldset { border: 0; padding: 0; margin: 0; }
  form.filters fieldset label { margin-right: .5rem; white-space: nowrap; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  tr.changed { animation: flash 1.5s; }
  @keyframes flash { from { background: #fff3b0; } to { background: transparent; } }
  small { color: #555; } .icon { vertical-align: -3px; }
  #live-status { font-size: .9rem; color: #555; } #notice { color: #15803d; }
  dialog { max-width: 56rem; width: 90%; } dialog table { font-size: .9rem; }
  nav.paging { margin: 1rem 0; display: flex; gap: 1rem; }
`;

function layout(title: string, body: string, data = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${e(title)}</title>
  <style>${STYLE}</style>
</head>
<body${data}>
${body}
<script src="/assets/report.js" defer></script>
</body>
</html>
`;
}

const signOut = `<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>`;

function checkboxes(
  name: string,
  options: readonly [string, string][],
  selected: readonly string[] | undefined,
): string {
  return options
    .map(
      ([value, label]) =>
        `<label><input type="checkbox" name="${e(name)}" value="${e(value)}"${selected?.includes(value) ? ' checked' : ''}> ${e(label)}</label>`,
    )
    .join(' ');
}

/** Options for rendering the Delivery Report. */
export interface DeliveryReportOptions {
  /** `?status=…` etc. of the current filters ('' when none). */
  readonly filterQuery: string;
  readonly firstPage: boolean;
  readonly limit: number;
}

/** The Delivery Report of one communication. */
export function renderDeliveryReport(page: RecordPage, options: DeliveryReportOptions): string {
  const c = page.communicationId;
  const self = `/communications/${encodeURIComponent(c)}`;
  const f = page.filters;
  const counts = STATUS_KEYS.map(
    (k) =>
      `<li class="count" data-status="${e(k)}">${statusIcon(k)} <a href="${e(`${self}?status=${k}`)}"><span class="label">${e(STATUSES[k].label)}</span></a> <strong>${e(page.counts[k])}</strong></li>`,
  ).join('\n      ');
  const responseEntries = Object.entries(page.responses).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const responses = responseEntries.length
    ? responseEntries
        .map(
          ([option, n]) =>
            `<li class="response-count" data-response="${e(option)}"><a href="${e(`${self}?response=${encodeURIComponent(option)}`)}">${e(option)}</a> <strong>${e(n)}</strong></li>`,
        )
        .join('\n      ')
    : '<li class="none">No responses yet.</li>';
  const responseOptions = [
    `<option value="">Any response</option>`,
    ...responseEntries.map(
      ([option]) => `<option value="${e(option)}"${f.response === option ? ' selected' : ''}>${e(option)}</option>`,
    ),
    ...(f.response !== undefined && !page.responses[f.response]
      ? [`<option value="${e(f.response)}" selected>${e(f.response)}</option>`]
      : []),
  ].join('');
  const filtered = options.filterQuery !== '';
  const shown = filtered
    ? page.matching === null
      ? 'matching the filters'
      : `${e(page.matching)} match the filters`
    : '';
  const rows = page.records.map(recordRow).join('\n      ');
  const q = options.filterQuery;
  const next = page.nextCursor
    ? `<a class="button" id="next-page" href="${e(`${self}${q ? `${q}&` : '?'}cursor=${page.nextCursor}`)}">Next page →</a>`
    : '';
  const first = options.firstPage ? '' : `<a class="button" href="${e(`${self}${q}`)}">← First page</a>`;
  const mdr = `/reports/messages?communicationId=${encodeURIComponent(c)}`;
  const body = `<header>
  <h1>Delivery Report</h1>
  <span>Communication <code id="communication-id">${e(c)}</code> — <strong id="total">${e(page.total)}</strong> delivery records${shown ? `, <span id="matching">${shown}</span>` : ''}</span>
  <a id="mdr-link" href="${e(mdr)}">Message Delivery Report</a>
  ${signOut}
</header>
<section class="summary" aria-label="Counts">
  <div>
    <h2>Status</h2>
    <ul class="counts">
      ${counts}
    </ul>
  </div>
  <div>${countsChart(page.counts)}</div>
  <div>
    <h2>Responses</h2>
    <ul class="responses">
      ${responses}
    </ul>
  </div>
</section>
<form class="filters" method="get" action="${e(self)}">
  <fieldset><legend>Status</legend>${checkboxes(
    'status',
    STATUS_KEYS.map((k) => [k, STATUSES[k].label]),
    f.statuses,
  )}</fieldset>
  <fieldset><legend>Channel</legend>${checkboxes(
    'channel',
    [
      ['email', 'Email'],
      ['sms', 'SMS'],
    ],
    f.channels,
  )}</fieldset>
  <label>Response <select name="response">${responseOptions}</select></label>
  <label>Recipient <input type="search" name="q" maxlength="100" value="${e(f.search ?? '')}" placeholder="name, email or phone"></label>
  <button type="submit" id="apply-filters">Apply</button>
  ${filtered ? `<a href="${e(self)}">Clear filters</a>` : ''}
</form>
<div class="toolbar">
  <a class="button" id="refresh" href="${e(`${self}${q}`)}">Refresh List</a>
  <button type="button" id="copy-ids" hidden>Copy IDs</button>
  <a class="button" id="export-csv" href="${e(`/api/v1/communications/${encodeURIComponent(c)}/delivery-records.csv${q}`)}" download>Export CSV</a>
  <span id="live-status" aria-live="polite"></span>
  <span id="notice" role="status" aria-live="polite"></span>
</div>
<table id="records">
  <thead><tr><th>ID</th><th>Recipient</th><th>Channel</th><th>Status</th><th>Response</th><th>Last update</th></tr></thead>
  <tbody>
      ${rows}
  </tbody>
</table>
${page.records.length === 0 ? '<p id="empty">No delivery records match.</p>' : ''}
<nav class="paging">${first}${next}</nav>
<dialog id="timeline" aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2><div id="timeline-body"></div><form method="dialog"><button>Close</button></form></dialog>`;
  const data = ` data-page="delivery-report" data-communication="${e(c)}" data-filter-query="${e(q)}" data-first-page="${options.firstPage ? '1' : '0'}" data-limit="${e(options.limit)}" data-filters="${e(JSON.stringify(f))}"`;
  return layout(`Delivery Report — ${c}`, body, data);
}

function timelineTable(timeline: readonly TimelineEntry[]): string {
  if (timeline.length === 0) return '<p>No events yet.</p>';
  const rows = timeline
    .map(
      (t) => `<tr data-event="${e(t.eventId)}">
      <td>${time(t.receivedAt)}</td>
      <td>${statusIcon(t.status)} ${e(STATUSES[t.status].label)}</td>
      <td>${e(t.source)}${t.provider ? ` <small>${e(t.provider)}${t.providerEventType ? ` · ${e(t.providerEventType)}` : ''}</small>` : ''}</td>
      <td>${e(t.attempt)}</td>
      <td>${e(t.response)}</td>
      <td>${e(t.reasonCode)}${t.reasonText ? ` <small>${e(t.reasonText)}</small>` : ''}</td>
    </tr>`,
    )
    .join('');
  return `<table class="timeline"><thead><tr><th>Received</th><th>Status</th><th>Source</th><th>Attempt</th><th>Response</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A record and its timeline (the no-script view of the timeline dialog). */
export function renderTimelinePage(record: DeliveryRecordView, timeline: readonly TimelineEntry[]): string {
  const back = `/communications/${encodeURIComponent(record.communicationId)}`;
  const body = `<header><h1>Delivery record <code>${e(record.id)}</code></h1><a href="${e(back)}">← Delivery Report</a>${signOut}</header>
<p>${e(record.recipientName)} <small>${e(record.address)}</small> · ${e(channelLabel(record.channel))} · ${statusIcon(record.status)} ${e(record.statusLabel)}${
    record.response ? ` · response: ${e(record.response)}` : ''
  } · attempt ${e(record.attempt)}${record.flags.length ? ` · flags: ${e(record.flags.join(', '))}` : ''}</p>
${timelineTable(timeline)}`;
  return layout(`Delivery record ${record.id}`, body);
}

/** Options for rendering the Message Delivery Report. */
export interface MessageReportOptions {
  readonly filterQuery: string;
  /** The date filters as typed. */
  readonly from: string;
  readonly to: string;
  readonly firstPage: boolean;
}

/** The Message Delivery Report (across communications). */
export function renderMessageReport(page: MessagePage, options: MessageReportOptions): string {
  const f = page.filters;
  const table = totalsTable(page.totals);
  const channels = (['email', 'sms', 'unknown'] as const).filter(
    (c) => c !== 'unknown' || STATUS_KEYS.some((k) => table.unknown[k] > 0),
  );
  const head = STATUS_KEYS.map((k) => `<th>${statusIcon(k)} ${e(STATUSES[k].label)}</th>`).join('');
  const totalsRows = channels
    .map((c) => {
      const sum = STATUS_KEYS.reduce((a, k) => a + table[c][k], 0);
      return `<tr data-channel="${e(c)}"><th>${e(c === 'unknown' ? 'Unknown' : channelLabel(c))}</th>${STATUS_KEYS.map(
        (k) => `<td data-status="${e(k)}">${e(table[c][k])}</td>`,
      ).join('')}<td class="sum">${e(sum)}</td></tr>`;
    })
    .join('');
  const rows = page.records
    .map(
      (r) => `<tr data-id="${e(r.id)}" data-status="${e(r.status)}">
        <td><a href="/delivery-records/${e(r.id)}"><code>${e(r.id)}</code></a></td>
        <td><a href="/communications/${e(r.communicationId)}"><code>${e(r.communicationId)}</code></a></td>
        <td class="recipient">${e(r.recipientName)}<br><small>${e(r.address)}</small></td>
        <td class="channel">${e(channelLabel(r.channel))}</td>
        ${statusCell(r)}
        <td class="response">${e(r.response)}</td>
        <td class="created">${time(r.createdAt)}</td>
        <td class="updated">${time(r.updatedAt)}</td>
      </tr>`,
    )
    .join('\n      ');
  const q = options.filterQuery;
  const next = page.nextCursor
    ? `<a class="button" id="next-page" href="${e(`/reports/messages${q ? `${q}&` : '?'}cursor=${page.nextCursor}`)}">Next page →</a>`
    : '';
  const first = options.firstPage ? '' : `<a class="button" href="${e(`/reports/messages${q}`)}">← First page</a>`;
  const body = `<header><h1>Message Delivery Report</h1>${
    f.communicationId
      ? `<a href="/communications/${e(f.communicationId)}">Delivery Report of <code>${e(f.communicationId)}</code></a>`
      : ''
  }${signOut}</header>
<form class="filters" method="get" action="/reports/messages">
  <label>From <input type="date" name="from" value="${e(options.from)}"></label>
  <label>To <input type="date" name="to" value="${e(options.to)}"></label>
  <label>Communication <input name="communicationId" pattern="[A-Za-z0-9_\\-]{1,128}" value="${e(f.communicationId ?? '')}" placeholder="c_…"></label>
  <fieldset><legend>Channel</legend>${checkboxes(
    'channel',
    [
      ['email', 'Email'],
      ['sms', 'SMS'],
    ],
    f.channels,
  )}</fieldset>
  <fieldset><legend>Status</legend>${checkboxes(
    'status',
    STATUS_KEYS.map((k) => [k, STATUSES[k].label]),
    f.statuses,
  )}</fieldset>
  <button type="submit" id="apply-filters">Apply</button>
  ${q ? '<a href="/reports/messages">Clear filters</a>' : ''}
</form>
<h2>Totals <small id="grand-total">${e(page.total)} records</small></h2>
<table id="totals"><thead><tr><th>Channel</th>${head}<th>All</th></tr></thead><tbody>${totalsRows}</tbody></table>
<div class="toolbar">
  <a class="button" href="${e(`/reports/messages${q}`)}">Refresh List</a>
  <a class="button" id="export-csv" href="${e(`/api/v1/message-delivery-report.csv${q}`)}" download>Export CSV</a>
</div>
<table id="records">
  <thead><tr><th>ID</th><th>Communication</th><th>Recipient</th><th>Channel</th><th>Status</th><th>Response</th><th>Created</th><th>Last update</th></tr></thead>
  <tbody>
      ${rows}
  </tbody>
</table>
${page.records.length === 0 ? '<p id="empty">No delivery records match.</p>' : ''}
<nav class="paging">${first}${next}</nav>`;
  return layout('Message Delivery Report', body, ' data-page="message-report"');
}
