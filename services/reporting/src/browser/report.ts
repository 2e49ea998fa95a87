// The one script of the report pages (served at /assets/report.js): live updates over server-sent
// events, Copy IDs and the timeline dialog. The pages work without it. Bundled by
// scripts/bundle-browser.ts into src/gen/report-script.ts; edit this file, then run `npm run bundle`.

/** Each status's icon markup (constant, from html.ts), filled in by the bundler. */
declare const __STATUS_ICONS__: Readonly<Record<string, string>>;
/** Each status's label (from @dlr/status-engine), filled in by the bundler. */
declare const __STATUS_LABELS__: Readonly<Record<string, string>>;

/** A record as the live feed and the API send it. */
interface RecordJson {
  id: string;
  status: string;
  statusLabel: string;
  reasonCode: string;
  channel: string | null;
  recipientName: string;
  address: string;
  response: string;
  updatedAt: string;
}

interface TimelineJson {
  eventId: string;
  status: string;
  source: string;
  provider: string;
  providerEventType: string;
  attempt: number;
  response: string;
  reasonCode: string;
  reasonText: string;
  receivedAt: string;
}

interface ChangeJson {
  counts: Record<string, number>;
  total: number;
  responses?: Record<string, number>;
  records: RecordJson[];
}

interface Filters {
  statuses?: string[];
  channels?: string[];
  response?: string;
  search?: string;
}

const ICONS = __STATUS_ICONS__;
const LABELS = __STATUS_LABELS__;

function required<T extends Element>(element: T | null, what: string): T {
  if (element === null) throw new Error(`report.js: the page has no ${what}`);
  return element;
}

function start(): void {
  const body = document.body;
  if (body.dataset.page !== 'delivery-report') return;
  const communication = body.dataset.communication ?? '';
  const filterQuery = body.dataset.filterQuery || '';
  const filters = JSON.parse(body.dataset.filters || '{}') as Filters;
  const firstPage = body.dataset.firstPage === '1';
  const limit = Number(body.dataset.limit || '100');
  const tbody = required(document.querySelector<HTMLTableSectionElement>('#records tbody'), 'records table');
  const notice = required(document.getElementById('notice'), '#notice');
  const liveStatus = required(document.getElementById('live-status'), '#live-status');
  const api = '/api/v1/communications/' + encodeURIComponent(communication);

  const say = (text: string): void => {
    notice.textContent = text;
  };
  const el = (tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  };
  const icon = (status: string): Node | string => {
    const span = document.createElement('span');
    span.innerHTML = ICONS[status] ?? ''; // our own constant markup, never data
    return span.firstChild ?? '';
  };
  const fmtTime = (iso: string): HTMLElement =>
    el('time', { datetime: iso }, iso.replace('T', ' ').slice(0, 19) + ' UTC');
  const channelLabel = (c: string | null): string => (c === 'sms' ? 'SMS' : c === 'email' ? 'Email' : '—');

  function statusCell(r: RecordJson): HTMLElement {
    const td = el(
      'td',
      { class: 'status', 'data-status': r.status },
      icon(r.status),
      ' ',
      el('span', { class: 'label' }, r.statusLabel),
    );
    if (r.reasonCode) td.append(' ', el('small', { class: 'reason' }, '(' + r.reasonCode + ')'));
    return td;
  }
  function row(r: RecordJson): HTMLElement {
    const link = el(
      'a',
      { class: 'record-link', href: '/delivery-records/' + encodeURIComponent(r.id) },
      el('code', {}, r.id),
    );
    return el(
      'tr',
      { 'data-id': r.id, 'data-status': r.status },
      el('td', {}, link),
      el('td', { class: 'recipient' }, r.recipientName, el('br'), el('small', {}, r.address)),
      el('td', { class: 'channel' }, channelLabel(r.channel)),
      statusCell(r),
      el('td', { class: 'response' }, r.response),
      el('td', { class: 'updated' }, fmtTime(r.updatedAt)),
    );
  }
  function matches(r: RecordJson): boolean {
    if (filters.statuses?.length && !filters.statuses.includes(r.status)) return false;
    if (filters.channels?.length && !filters.channels.includes(r.channel ?? '')) return false;
    if (filters.response !== undefined && r.response !== filters.response) return false;
    if (filters.search) {
      const s = filters.search.toLowerCase();
      if (!r.recipientName.toLowerCase().includes(s) && !r.address.toLowerCase().includes(s)) return false;
    }
    return true;
  }

  function updateCounts(data: ChangeJson): void {
    const counts = data.counts;
    const max = Math.max(1, ...Object.values(counts));
    for (const [status, n] of Object.entries(counts)) {
      const strong = document.querySelector('li.count[data-status="' + status + '"] strong');
      if (strong) strong.textContent = String(n);
      const g = document.querySelector('svg.chart g[data-status="' + status + '"]');
      if (g) {
        const w = Math.round((n / max) * 260);
        g.querySelector('rect.bar')?.setAttribute('width', String(w));
        const text = g.querySelector('text.bar-value');
        if (text) {
          text.setAttribute('x', String(146 + w));
          text.textContent = String(n);
        }
      }
    }
    const total = document.getElementById('total');
    if (total) total.textContent = String(data.total);
    const list = document.querySelector('ul.responses');
    const entries = Object.entries(data.responses ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (list) {
      list.replaceChildren(
        ...(entries.length
          ? entries.map(([option, n]) =>
              el(
                'li',
                { class: 'response-count', 'data-response': option },
                el(
                  'a',
                  {
                    href:
                      '/communications/' +
                      encodeURIComponent(communication) +
                      '?response=' +
                      encodeURIComponent(option),
                  },
                  option,
                ),
                ' ',
                el('strong', {}, String(n)),
              ),
            )
          : [el('li', { class: 'none' }, 'No responses yet.')]),
      );
    }
  }

  function applyRecords(records: readonly RecordJson[]): void {
    for (const r of records) {
      const existing = tbody.querySelector('tr[data-id="' + CSS.escape(r.id) + '"]');
      const fresh = row(r);
      fresh.classList.add('changed');
      if (existing) {
        existing.replaceWith(fresh);
        continue;
      }
      if (!firstPage || !matches(r) || tbody.rows.length >= limit) continue;
      // Keep ID order: insert before the first row with a greater ID.
      const after = [...tbody.rows].find((tr) => (tr.dataset.id ?? '') > r.id);
      tbody.insertBefore(fresh, after ?? null);
      document.getElementById('empty')?.remove();
    }
  }

  if (typeof EventSource === 'function') {
    const source = new EventSource(api + '/live');
    source.addEventListener('open', () => {
      liveStatus.textContent = '● Live';
    });
    source.addEventListener('error', () => {
      liveStatus.textContent = '○ Reconnecting…';
    });
    source.addEventListener('change', (event: MessageEvent<string>) => {
      const data = JSON.parse(event.data) as ChangeJson;
      updateCounts(data);
      applyRecords(data.records);
      liveStatus.textContent = '● Live';
      body.dataset.liveUpdates = String(Number(body.dataset.liveUpdates || '0') + 1);
    });
  }

  const copy = required(document.getElementById('copy-ids'), '#copy-ids');
  copy.hidden = false;
  copy.addEventListener('click', () => {
    void (async () => {
      say('Copying…');
      try {
        const response = await fetch(api + '/delivery-record-ids' + filterQuery, { credentials: 'same-origin' });
        if (!response.ok) throw new Error('the server answered ' + response.status);
        const text = await response.text();
        await navigator.clipboard.writeText(text);
        const n = text.split('\n').filter(Boolean).length;
        say('Copied ' + n + ' IDs to the clipboard.');
      } catch (error) {
        say('Could not copy the IDs: ' + (error instanceof Error ? error.message : String(error)));
      }
    })();
  });

  const dialog = required(document.querySelector<HTMLDialogElement>('dialog#timeline'), 'timeline dialog');
  const dialogBody = required(document.getElementById('timeline-body'), '#timeline-body');
  tbody.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a.record-link') : null;
    if (!link || typeof dialog.showModal !== 'function') return;
    event.preventDefault();
    const id = link.closest('tr')?.dataset.id ?? '';
    void (async () => {
      const response = await fetch('/api/v1/delivery-records/' + encodeURIComponent(id), {
        credentials: 'same-origin',
      });
      if (!response.ok) {
        say('Could not load the timeline (' + response.status + ').');
        return;
      }
      const { record, timeline } = (await response.json()) as { record: RecordJson; timeline: TimelineJson[] };
      const head = el(
        'p',
        {},
        el('code', {}, record.id),
        ' · ',
        record.recipientName,
        ' · ',
        channelLabel(record.channel),
        ' · ',
        icon(record.status),
        ' ',
        record.statusLabel,
      );
      const table = el(
        'table',
        { class: 'timeline' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['Received', 'Status', 'Source', 'Attempt', 'Response', 'Reason'].map((h) => el('th', {}, h)),
          ),
        ),
        el(
          'tbody',
          {},
          ...timeline.map((t) =>
            el(
              'tr',
              { 'data-event': t.eventId },
              el('td', {}, fmtTime(t.receivedAt)),
              el('td', { 'data-status': t.status }, icon(t.status), ' ', LABELS[t.status] ?? t.status),
              el(
                'td',
                {},
                t.source +
                  (t.provider ? ' · ' + t.provider : '') +
                  (t.providerEventType ? ' · ' + t.providerEventType : ''),
              ),
              el('td', {}, String(t.attempt)),
              el('td', {}, t.response),
              el('td', {}, t.reasonCode + (t.reasonText ? ' — ' + t.reasonText : '')),
            ),
          ),
        ),
      );
      dialogBody.replaceChildren(head, timeline.length ? table : el('p', {}, 'No events yet.'));
      dialog.showModal();
    })();
  });
}

start();
export {};
