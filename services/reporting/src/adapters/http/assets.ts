// The one script of the report pages (served at /assets/report.js; no build step): live updates over
// server-sent events, Copy IDs, and the timeline dialog. The pages work without it.
import { STATUS_KEYS, STATUSES } from '@dlr/status-engine';
import { statusIcons } from './html.js';

const LABELS = Object.fromEntries(STATUS_KEYS.map((k) => [k, STATUSES[k].label]));

/** The script's source. */
export const REPORT_SCRIPT = `'use strict';
(() => {
  const ICONS = ${JSON.stringify(statusIcons())};
  const LABELS = ${JSON.stringify(LABELS)};
  const body = document.body;
  if (body.dataset.page !== 'delivery-report') return;
  const communication = body.dataset.communication;
  const filterQuery = body.dataset.filterQuery || '';
  const filters = JSON.parse(body.dataset.filters || '{}');
  const firstPage = body.dataset.firstPage === '1';
  const limit = Number(body.dataset.limit || '100');
  const tbody = document.querySelector('#records tbody');
  const notice = document.getElementById('notice');
  const liveStatus = document.getElementById('live-status');
  const api = '/api/v1/communications/' + encodeURIComponent(communication);

  const say = (text) => { notice.textContent = text; };
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  };
  const icon = (status) => {
    const span = document.createElement('span');
    span.innerHTML = ICONS[status] || ''; // our own constant markup, never data
    return span.firstChild || '';
  };
  const fmtTime = (iso) => el('time', { datetime: iso }, iso.replace('T', ' ').slice(0, 19) + ' UTC');
  const channelLabel = (c) => (c === 'sms' ? 'SMS' : c === 'email' ? 'Email' : '—');

  function statusCell(r) {
    const td = el('td', { class: 'status', 'data-status': r.status }, icon(r.status), ' ', el('span', { class: 'label' }, r.statusLabel));
    if (r.reasonCode) td.append(' ', el('small', { class: 'reason' }, '(' + r.reasonCode + ')'));
    return td;
  }
  function row(r) {
    const link = el('a', { class: 'record-link', href: '/delivery-records/' + encodeURIComponent(r.id) }, el('code', {}, r.id));
    return el('tr', { 'data-id': r.id, 'data-status': r.status },
      el('td', {}, link),
      el('td', { class: 'recipient' }, r.recipientName, el('br'), el('small', {}, r.address)),
      el('td', { class: 'channel' }, channelLabel(r.channel)),
      statusCell(r),
      el('td', { class: 'response' }, r.response),
      el('td', { class: 'updated' }, fmtTime(r.updatedAt)));
  }
  function matches(r) {
    if (filters.statuses && filters.statuses.length && !filters.statuses.includes(r.status)) return false;
    if (filters.channels && filters.channels.length && !filters.channels.includes(r.channel)) return false;
    if (filters.response !== undefined && r.response !== filters.response) return false;
    if (filters.search) {
      const s = filters.search.toLowerCase();
      if (!r.recipientName.toLowerCase().includes(s) && !r.address.toLowerCase().includes(s)) return false;
    }
    return true;
  }

  function updateCounts(data) {
    const counts = data.counts;
    const max = Math.max(1, ...Object.values(counts));
    for (const [status, n] of Object.entries(counts)) {
      const strong = document.querySelector('li.count[data-status="' + status + '"] strong');
      if (strong) strong.textContent = String(n);
      const g = document.querySelector('svg.chart g[data-status="' + status + '"]');
      if (g) {
        const w = Math.round((n / max) * 260);
        g.querySelector('rect.bar').setAttribute('width', String(w));
        const text = g.querySelector('text.bar-value');
        text.setAttribute('x', String(146 + w));
        text.textContent = String(n);
      }
    }
    const total = document.getElementById('total');
    if (total) total.textContent = String(data.total);
    const list = document.querySelector('ul.responses');
    const entries = Object.entries(data.responses || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (list) {
      list.replaceChildren(...(entries.length
        ? entries.map(([option, n]) => el('li', { class: 'response-count', 'data-response': option },
            el('a', { href: '/communications/' + encodeURIComponent(communication) + '?response=' + encodeURIComponent(option) }, option), ' ', el('strong', {}, String(n))))
        : [el('li', { class: 'none' }, 'No responses yet.')]));
    }
  }

  function applyRecords(records) {
    for (const r of records) {
      const existing = tbody.querySelector('tr[data-id="' + CSS.escape(r.id) + '"]');
      const fresh = row(r);
      fresh.classList.add('changed');
      if (existing) { existing.replaceWith(fresh); continue; }
      if (!firstPage || !matches(r) || tbody.rows.length >= limit) continue;
      // Keep ID order: insert before the first row with a greater ID.
      const after = [...tbody.rows].find((tr) => tr.dataset.id > r.id);
      tbody.insertBefore(fresh, after || null);
      document.getElementById('empty')?.remove();
    }
  }

  if (typeof EventSource === 'function') {
    const source = new EventSource(api + '/live');
    source.addEventListener('open', () => { liveStatus.textContent = '● Live'; });
    source.addEventListener('error', () => { liveStatus.textContent = '○ Reconnecting…'; });
    source.addEventListener('change', (event) => {
      const data = JSON.parse(event.data);
      updateCounts(data);
      applyRecords(data.records);
      liveStatus.textContent = '● Live';
      body.dataset.liveUpdates = String(Number(body.dataset.liveUpdates || '0') + 1);
    });
  }

  const copy = document.getElementById('copy-ids');
  copy.hidden = false;
  copy.addEventListener('click', async () => {
    say('Copying…');
    try {
      const response = await fetch(api + '/delivery-record-ids' + filterQuery, { credentials: 'same-origin' });
      if (!response.ok) throw new Error('the server answered ' + response.status);
      const text = await response.text();
      await navigator.clipboard.writeText(text);
      const n = text.split('\\n').filter(Boolean).length;
      say('Copied ' + n + ' IDs to the clipboard.');
    } catch (error) {
      say('Could not copy the IDs: ' + (error && error.message ? error.message : error));
    }
  });

  const dialog = document.getElementById('timeline');
  const dialogBody = document.getElementById('timeline-body');
  tbody.addEventListener('click', async (event) => {
    const link = event.target.closest('a.record-link');
    if (!link || typeof dialog.showModal !== 'function') return;
    event.preventDefault();
    const id = link.closest('tr').dataset.id;
    const response = await fetch('/api/v1/delivery-records/' + encodeURIComponent(id), { credentials: 'same-origin' });
    if (!response.ok) { say('Could not load the timeline (' + response.status + ').'); return; }
    const { record, timeline } = await response.json();
    const head = el('p', {}, el('code', {}, record.id), ' · ', record.recipientName, ' · ', channelLabel(record.channel), ' · ', icon(record.status), ' ', record.statusLabel);
    const table = el('table', { class: 'timeline' },
      el('thead', {}, el('tr', {}, ...['Received', 'Status', 'Source', 'Attempt', 'Response', 'Reason'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...timeline.map((t) => el('tr', { 'data-event': t.eventId },
        el('td', {}, fmtTime(t.receivedAt)),
        el('td', { 'data-status': t.status }, icon(t.status), ' ', LABELS[t.status] || t.status),
        el('td', {}, t.source + (t.provider ? ' · ' + t.provider : '') + (t.providerEventType ? ' · ' + t.providerEventType : '')),
        el('td', {}, String(t.attempt)),
        el('td', {}, t.response),
        el('td', {}, t.reasonCode + (t.reasonText ? ' — ' + t.reasonText : ''))))));
    dialogBody.replaceChildren(head, timeline.length ? table : el('p', {}, 'No events yet.'));
    dialog.showModal();
  });
})();
`;
