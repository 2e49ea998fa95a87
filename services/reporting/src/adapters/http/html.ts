// Server-rendered pages: the Delivery Report, a record's timeline and the Message Delivery Report.
// They work without JavaScript (tables, filters, paging, CSV, Refresh List); /assets/report.js adds
// live updates, Copy IDs and the timeline dialog. Built with @dlr/html: every interpolation is escaped.
import { html, join, raw, type SafeHtml } from '@dlr/html';
import { STATUS_KEYS, STATUSES, type StatusCounts, type StatusKey } from '@dlr/status-engine';
import type { CountsSnapshot } from '../../domain/history.js';
import type { TimelineEntry } from '../../domain/model.js';
import {
  totalsTable,
  type DeliveryRecordView,
  type MessagePage,
  type RecordPage,
} from '../../domain/report-queries.js';
import { historyChart } from './chart.js';

const NL6 = html`\n      `;

/** Colour and shape of each status's icon: distinct by both, so it reads without colour too. */
const ICON_SHAPES: Record<StatusKey, { color: string; svg: SafeHtml }> = {
  pending: {
    color: '#6b7280',
    svg: raw(
      '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="2"/><path d="M8 4v4l3 2" fill="none" stroke="currentColor" stroke-width="1.6"/>',
    ),
  },
  sent: { color: '#2563eb', svg: raw('<path d="M2 3l12 5-12 5 2-5z" fill="currentColor"/>') },
  not_sent: {
    color: '#b91c1c',
    svg: raw(
      '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="2"/><path d="M4 12L12 4" stroke="currentColor" stroke-width="2"/>',
    ),
  },
  bounced_temporarily: {
    color: '#d97706',
    svg: raw(
      '<path d="M13 8a5 5 0 1 1-2-4" fill="none" stroke="currentColor" stroke-width="2"/><path d="M9 1l3 3-3 2z" fill="currentColor"/>',
    ),
  },
  delivered: {
    color: '#15803d',
    svg: raw('<path d="M2 8.5l4 4 8-9" fill="none" stroke="currentColor" stroke-width="2.4"/>'),
  },
  read: {
    color: '#0f766e',
    svg: raw(
      '<path d="M1 8s3-5 7-5 7 5 7 5-3 5-7 5-7-5-7-5z" fill="none" stroke="currentColor" stroke-width="1.6"/><circle cx="8" cy="8" r="2.2" fill="currentColor"/>',
    ),
  },
  failed: { color: '#991b1b', svg: raw('<path d="M3 3l10 10M13 3L3 13" stroke="currentColor" stroke-width="2.6"/>') },
  acknowledged: {
    color: '#7c3aed',
    svg: raw(
      '<rect x="1.5" y="1.5" width="13" height="13" rx="2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M4 8.5l3 3 5-6" fill="none" stroke="currentColor" stroke-width="2"/>',
    ),
  },
  responded: { color: '#6d28d9', svg: raw('<path d="M2 3h12v8H7l-3 3v-3H2z" fill="currentColor"/>') },
  opted_out: {
    color: '#374151',
    svg: raw('<circle cx="8" cy="8" r="6.5" fill="currentColor"/><path d="M4.5 8h7" stroke="#fff" stroke-width="2"/>'),
  },
};

/** Each status's colour (its icon's), for the chart of statuses over time. */
const STATUS_COLOURS = Object.fromEntries(STATUS_KEYS.map((k) => [k, ICON_SHAPES[k].color])) as Record<
  StatusKey,
  string
>;

/** The inline SVG icon of a status (decorative: the label beside it says the same). */
export function statusIcon(status: StatusKey): SafeHtml {
  const shape = ICON_SHAPES[status];
  return html`<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" style="color:${shape.color}">${shape.svg}</svg>`;
}

/** Every status's icon, for the page script. */
export function statusIcons(): Record<StatusKey, string> {
  return Object.fromEntries(STATUS_KEYS.map((k) => [k, String(statusIcon(k))])) as Record<StatusKey, string>;
}

function statusCell(r: { status: StatusKey; statusLabel: string; reasonCode: string }): SafeHtml {
  return html`<td class="status" data-status="${r.status}">${statusIcon(r.status)} <span class="label">${r.statusLabel}</span>${
    r.reasonCode && html` <small class="reason">(${r.reasonCode})</small>`
  }</td>`;
}

function channelLabel(channel: string | null): string {
  return channel === 'sms' ? 'SMS' : channel === 'email' ? 'Email' : '—';
}

function time(d: Date): SafeHtml {
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}

/** One row of the Delivery Report (also what the page script renders for live updates). */
export function recordRow(r: DeliveryRecordView): SafeHtml {
  return html`<tr data-id="${r.id}" data-status="${r.status}">
        <td><a class="record-link" href="/delivery-records/${r.id}"><code>${r.id}</code></a></td>
        <td class="recipient">${r.recipientName}<br><small>${r.address}</small></td>
        <td class="channel">${channelLabel(r.channel)}</td>
        ${statusCell(r)}
        <td class="response">${r.response}</td>
        <td class="updated">${time(r.updatedAt)}</td>
      </tr>`;
}

/** Horizontal bar chart of counts per status (inline SVG, no script). */
export function countsChart(counts: StatusCounts): SafeHtml {
  const max = Math.max(1, ...STATUS_KEYS.map((k) => counts[k]));
  const rowH = 20;
  const bars = STATUS_KEYS.map((k, i) => {
    const w = Math.round((counts[k] / max) * 260);
    const y = i * rowH;
    return html`<g data-status="${k}"><text x="0" y="${y + 14}" font-size="12">${STATUSES[k].label}</text><rect class="bar" x="140" y="${y + 3}" height="14" width="${w}" fill="${ICON_SHAPES[k].color}"/><text class="bar-value" x="${146 + w}" y="${y + 14}" font-size="12">${counts[k]}</text></g>`;
  });
  return html`<svg class="chart" role="img" aria-label="Records per status" viewBox="0 0 460 ${STATUS_KEYS.length * rowH}" width="460" height="${STATUS_KEYS.length * rowH}">${bars}</svg>`;
}

const STYLE = raw(`
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.5rem; }
  header form { margin-left: auto; }
  .summary { display: flex; flex-wrap: wrap; gap: 1rem 3rem; align-items: flex-start; }
  ul.counts { list-style: none; padding: 0; margin: 0; columns: 2; }
  ul.counts li { padding: .1rem 0; } ul.counts a { color: inherit; }
  .read-note { max-width: 28rem; margin: .5rem 0 0; }
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
  figure.history { margin: 0; } ul.history-legend { list-style: none; padding: 0; margin: .3rem 0; display: flex; flex-wrap: wrap; gap: .2rem .8rem; font-size: .9rem; }
  .history-empty { max-width: 28rem; color: #555; }
`);

function layout(title: string, body: SafeHtml, data?: SafeHtml): string {
  return String(html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <style>${STYLE}</style>
</head>
<body${data}>
${body}
<script src="/assets/report.js" defer></script>
</body>
</html>
`);
}

const signOut = html`<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>`;

function checkboxes(
  name: string,
  options: readonly [string, string][],
  selected: readonly string[] | undefined,
): SafeHtml {
  return join(
    options.map(
      ([value, label]) =>
        html`<label><input type="checkbox" name="${name}" value="${value}"${selected?.includes(value) && html` checked`}> ${label}</label>`,
    ),
    html` `,
  );
}

/** Options for rendering the Delivery Report. */
export interface DeliveryReportOptions {
  /** `?status=…` etc. of the current filters ('' when none). */
  readonly filterQuery: string;
  readonly firstPage: boolean;
  readonly limit: number;
  /** Count snapshots for the chart of statuses over time, oldest first (none: the chart's placeholder). */
  readonly history?: readonly CountsSnapshot[];
}

// Read comes from the open pixel or a provider's open event: both need the recipient's images loaded.
const READ_NOTE = html`<p class="read-note" id="read-note"><small><strong>About Read</strong> (email only): it can be missing — the recipient's mail client blocked images — or early, when a privacy proxy or scanner fetches the images on arrival (hits the pixel rules recognise as machines' are not counted).</small></p>`;

/** The Delivery Report of one communication. */
export function renderDeliveryReport(page: RecordPage, options: DeliveryReportOptions): string {
  const c = page.communicationId;
  const self = `/communications/${encodeURIComponent(c)}`;
  const f = page.filters;
  const counts = join(
    STATUS_KEYS.map(
      (k) =>
        html`<li class="count" data-status="${k}">${statusIcon(k)} <a href="${`${self}?status=${k}`}"><span class="label">${STATUSES[k].label}</span></a> <strong>${page.counts[k]}</strong></li>`,
    ),
    NL6,
  );
  const responseEntries = Object.entries(page.responses).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const responses = responseEntries.length
    ? join(
        responseEntries.map(
          ([option, n]) =>
            html`<li class="response-count" data-response="${option}"><a href="${`${self}?response=${encodeURIComponent(option)}`}">${option}</a> <strong>${n}</strong></li>`,
        ),
        NL6,
      )
    : html`<li class="none">No responses yet.</li>`;
  const responseOptions = [
    html`<option value="">Any response</option>`,
    ...responseEntries.map(
      ([option]) => html`<option value="${option}"${f.response === option && html` selected`}>${option}</option>`,
    ),
    ...(f.response !== undefined && !page.responses[f.response]
      ? [html`<option value="${f.response}" selected>${f.response}</option>`]
      : []),
  ];
  const filtered = options.filterQuery !== '';
  const shown = filtered
    ? page.matching === null
      ? 'matching the filters'
      : `${page.matching} match the filters`
    : '';
  const rows = join(page.records.map(recordRow), NL6);
  const q = options.filterQuery;
  const next = page.nextCursor
    ? html`<a class="button" id="next-page" href="${`${self}${q ? `${q}&` : '?'}cursor=${page.nextCursor}`}">Next page →</a>`
    : undefined;
  const first = !options.firstPage && html`<a class="button" href="${`${self}${q}`}">← First page</a>`;
  const mdr = `/reports/messages?communicationId=${encodeURIComponent(c)}`;
  const body = html`<header>
  <h1>Delivery Report${page.title && html`: <span id="communication-title">${page.title}</span>`}</h1>
  <span>Communication <code id="communication-id">${c}</code> — <strong id="total">${page.total}</strong> delivery records${shown && html`, <span id="matching">${shown}</span>`}</span>
  <a id="mdr-link" href="${mdr}">Message Delivery Report</a>
  ${signOut}
</header>
<section class="summary" aria-label="Counts">
  <div>
    <h2>Status</h2>
    <ul class="counts">
      ${counts}
    </ul>
    ${READ_NOTE}
  </div>
  <div>${countsChart(page.counts)}</div>
  <div>
    <h2>Over time</h2>
    ${historyChart(options.history ?? [], STATUS_COLOURS)}
  </div>
  <div>
    <h2>Responses</h2>
    <ul class="responses">
      ${responses}
    </ul>
  </div>
</section>
<form class="filters" method="get" action="${self}">
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
  <label>Recipient <input type="search" name="q" maxlength="100" value="${f.search ?? ''}" placeholder="name, email or phone"></label>
  <button type="submit" id="apply-filters">Apply</button>
  ${filtered && html`<a href="${self}">Clear filters</a>`}
</form>
<div class="toolbar">
  <a class="button" id="refresh" href="${`${self}${q}`}">Refresh List</a>
  <button type="button" id="copy-ids" hidden>Copy IDs</button>
  <a class="button" id="export-csv" href="${`/api/v1/communications/${encodeURIComponent(c)}/delivery-records.csv${q}`}" download>Export CSV</a>
  <span id="live-status" aria-live="polite"></span>
  <span id="notice" role="status" aria-live="polite"></span>
</div>
<table id="records">
  <thead><tr><th>ID</th><th>Recipient</th><th>Channel</th><th>Status</th><th>Response</th><th>Last update</th></tr></thead>
  <tbody>
      ${rows}
  </tbody>
</table>
${page.records.length === 0 && html`<p id="empty">No delivery records match.</p>`}
<nav class="paging">${first}${next}</nav>
<dialog id="timeline" aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2><div id="timeline-body"></div><form method="dialog"><button>Close</button></form></dialog>`;
  const data = html` data-page="delivery-report" data-communication="${c}" data-filter-query="${q}" data-first-page="${options.firstPage ? '1' : '0'}" data-limit="${options.limit}" data-filters="${JSON.stringify(f)}"`;
  return layout(`Delivery Report — ${page.title || c}`, body, data);
}

function timelineTable(timeline: readonly TimelineEntry[]): SafeHtml {
  if (timeline.length === 0) return html`<p>No events yet.</p>`;
  const rows = timeline.map(
    (t) => html`<tr data-event="${t.eventId}">
      <td>${time(t.receivedAt)}</td>
      <td>${statusIcon(t.status)} ${STATUSES[t.status].label}</td>
      <td>${t.source}${t.provider && html` <small>${t.provider}${t.providerEventType && ` · ${t.providerEventType}`}</small>`}</td>
      <td>${t.attempt}</td>
      <td>${t.response}</td>
      <td>${t.reasonCode}${t.reasonText && html` <small>${t.reasonText}</small>`}</td>
    </tr>`,
  );
  return html`<table class="timeline"><thead><tr><th>Received</th><th>Status</th><th>Source</th><th>Attempt</th><th>Response</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A record and its timeline (the no-script view of the timeline dialog). */
export function renderTimelinePage(record: DeliveryRecordView, timeline: readonly TimelineEntry[]): string {
  const back = `/communications/${encodeURIComponent(record.communicationId)}`;
  const body = html`<header><h1>Delivery record <code>${record.id}</code></h1><a href="${back}">← Delivery Report</a>${signOut}</header>
<p>${record.recipientName} <small>${record.address}</small> · ${channelLabel(record.channel)} · ${statusIcon(record.status)} ${record.statusLabel}${
    record.response && ` · response: ${record.response}`
  } · attempt ${record.attempt}${record.flags.length > 0 && ` · flags: ${record.flags.join(', ')}`}</p>
${timelineTable(timeline)}`;
  return layout(`Delivery record ${record.id}`, body);
}

/** A communication as the Message Delivery Report names it: its title (when known) and its ID. */
function communicationName(titles: ReadonlyMap<string, string>, id: string) {
  const title = titles.get(id);
  return title ? html`<span class="title">${title}</span> <small><code>${id}</code></small>` : html`<code>${id}</code>`;
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
  const head = STATUS_KEYS.map((k) => html`<th>${statusIcon(k)} ${STATUSES[k].label}</th>`);
  const totalsRows = channels.map((c) => {
    const sum = STATUS_KEYS.reduce((a, k) => a + table[c][k], 0);
    return html`<tr data-channel="${c}"><th>${c === 'unknown' ? 'Unknown' : channelLabel(c)}</th>${STATUS_KEYS.map(
      (k) => html`<td data-status="${k}">${table[c][k]}</td>`,
    )}<td class="sum">${sum}</td></tr>`;
  });
  const rows = join(
    page.records.map(
      (r) => html`<tr data-id="${r.id}" data-status="${r.status}">
        <td><a href="/delivery-records/${r.id}"><code>${r.id}</code></a></td>
        <td class="communication"><a href="/communications/${r.communicationId}">${communicationName(page.titles, r.communicationId)}</a></td>
        <td class="recipient">${r.recipientName}<br><small>${r.address}</small></td>
        <td class="channel">${channelLabel(r.channel)}</td>
        ${statusCell(r)}
        <td class="response">${r.response}</td>
        <td class="created">${time(r.createdAt)}</td>
        <td class="updated">${time(r.updatedAt)}</td>
      </tr>`,
    ),
    NL6,
  );
  const q = options.filterQuery;
  const next = page.nextCursor
    ? html`<a class="button" id="next-page" href="${`/reports/messages${q ? `${q}&` : '?'}cursor=${page.nextCursor}`}">Next page →</a>`
    : undefined;
  const first = !options.firstPage && html`<a class="button" href="${`/reports/messages${q}`}">← First page</a>`;
  const body = html`<header><h1>Message Delivery Report</h1>${
    f.communicationId &&
    html`<a href="/communications/${f.communicationId}">Delivery Report of ${communicationName(page.titles, f.communicationId)}</a>`
  }${signOut}</header>
<form class="filters" method="get" action="/reports/messages">
  <label>Sent from <input type="date" name="from" value="${options.from}"></label>
  <label>Sent to <input type="date" name="to" value="${options.to}"></label>
  <label>Communication <input name="communicationId" pattern="[A-Za-z0-9_\\-]{1,128}" value="${f.communicationId ?? ''}" placeholder="c_…"></label>
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
  ${q && html`<a href="/reports/messages">Clear filters</a>`}
</form>
<h2>Totals <small id="grand-total">${page.total} records</small></h2>
<table id="totals"><thead><tr><th>Channel</th>${head}<th>All</th></tr></thead><tbody>${totalsRows}</tbody></table>
<div class="toolbar">
  <a class="button" href="${`/reports/messages${q}`}">Refresh List</a>
  <a class="button" id="export-csv" href="${`/api/v1/message-delivery-report.csv${q}`}" download>Export CSV</a>
</div>
<table id="records">
  <thead><tr><th>ID</th><th>Communication</th><th>Recipient</th><th>Channel</th><th>Status</th><th>Response</th><th>Created</th><th>Last update</th></tr></thead>
  <tbody>
      ${rows}
  </tbody>
</table>
${page.records.length === 0 && html`<p id="empty">No delivery records match.</p>`}
<nav class="paging">${first}${next}</nav>`;
  return layout('Message Delivery Report', body, html` data-page="message-report"`);
}
