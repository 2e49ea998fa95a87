// The minimal server-rendered Delivery Report. Every interpolated value goes through `escapeHtml`.
import { STATUS_KEYS, STATUSES } from '@dlr/status-engine';
import type { RecordPage } from '../../queries.js';

/** Escapes text for an HTML element body or a double- or single-quoted attribute. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** The page for one communication: counts per status and its first records, refreshed every 2 s. */
export function renderDeliveryReport(page: RecordPage, selfUrl: string, refreshSeconds = 2): string {
  const e = escapeHtml;
  const counts = STATUS_KEYS.map(
    (k) =>
      `<li class="count status-${e(k)}"><span class="label">${e(STATUSES[k].label)}</span> <strong>${e(page.counts[k])}</strong></li>`,
  ).join('\n      ');
  const rows = page.records
    .map(
      (r) => `<tr class="status-${e(r.status)}">
        <td><code>${e(r.id)}</code></td>
        <td>${e(r.recipientName)}<br><small>${e(r.address)}</small></td>
        <td>${e(r.channel === 'sms' ? 'SMS' : r.channel === 'email' ? 'Email' : '')}</td>
        <td>${e(r.statusLabel)}${r.reasonCode ? ` <small>(${e(r.reasonCode)})</small>` : ''}</td>
        <td>${e(r.response)}</td>
        <td><time datetime="${e(r.updatedAt.toISOString())}">${e(r.updatedAt.toISOString())}</time></td>
      </tr>`,
    )
    .join('\n      ');
  const shown = page.records.length < page.total ? ` (first ${e(page.records.length)} shown)` : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="refresh" content="${e(refreshSeconds)}">
  <title>Delivery Report — ${e(page.communicationId)}</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 1.5rem; }
    ul.counts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; list-style: none; padding: 0; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
    small { color: #666; }
  </style>
</head>
<body>
  <h1>Delivery Report</h1>
  <p>Communication <code>${e(page.communicationId)}</code> — ${e(page.total)} delivery records${shown}.
    <a href="${e(selfUrl)}">Refresh List</a></p>
  <ul class="counts">
      ${counts}
  </ul>
  <table>
    <thead><tr><th>ID</th><th>Recipient</th><th>Channel</th><th>Status</th><th>Response</th><th>Last update</th></tr></thead>
    <tbody>
      ${rows}
    </tbody>
  </table>
</body>
</html>
`;
}
