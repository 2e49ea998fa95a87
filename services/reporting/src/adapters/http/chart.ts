// The Delivery Report's chart of statuses over time: stacked areas of the records in each status at
// each count snapshot, drawn on the server as inline SVG (no script, no request), with a table of the
// same points for screen readers and anyone who wants the figures.
import { html, join, type SafeHtml } from '@dlr/html';
import { STATUS_KEYS, STATUSES, type StatusKey } from '@dlr/status-engine';
import type { CountsSnapshot } from '../../domain/history.js';

/** Bottom to top: answers and outcomes at the bottom, so what has landed grows from the axis. */
const STACK_ORDER: readonly StatusKey[] = [...STATUS_KEYS].reverse();

/** Size of the drawing area (viewBox units) and its margins for the axis labels. */
const W = 460;
const H = 180;
const LEFT = 44;
const RIGHT = 8;
const TOP = 8;
const BOTTOM = 22;

/** One status's band: its lower and upper edge at each point (record counts, stacked). */
export interface StatusBand {
  readonly status: StatusKey;
  readonly lower: readonly number[];
  readonly upper: readonly number[];
}

/** The chart's data: the points in time and one band per status that any point has records in. */
export interface HistorySeries {
  readonly times: readonly Date[];
  /** Stacked in {@link STACK_ORDER}; the last band's upper edge is each point's total. */
  readonly bands: readonly StatusBand[];
  /** Largest total of any point (the y axis's top; at least 1). */
  readonly max: number;
}

/** Stacks the snapshots' counts per status (pure; snapshots oldest first). */
export function historySeries(snapshots: readonly CountsSnapshot[]): HistorySeries {
  const shown = STACK_ORDER.filter((k) => snapshots.some((s) => s.status[k] > 0));
  const base = snapshots.map(() => 0);
  const bands = shown.map((status) => {
    const lower = [...base];
    snapshots.forEach((s, i) => (base[i] = (base[i] ?? 0) + s.status[status]));
    return { status, lower, upper: [...base] };
  });
  return { times: snapshots.map((s) => s.takenAt), bands, max: Math.max(1, ...base) };
}

function utcTime(d: Date): string {
  return `${d.toISOString().slice(11, 16)} UTC`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The latest figures in words: "Latest (10:12 UTC): 812 Delivered, 38 Pending; 850 records." */
export function latestFigures(snapshots: readonly CountsSnapshot[]): string {
  const last = snapshots.at(-1);
  if (last === undefined) return '';
  const parts = STATUS_KEYS.filter((k) => last.status[k] > 0)
    .sort((a, b) => last.status[b] - last.status[a])
    .map((k) => `${last.status[k]} ${STATUSES[k].label}`);
  return `Latest (${utcTime(last.takenAt)}): ${parts.join(', ') || 'no records'}; ${last.total} records.`;
}

/**
 * The chart of statuses over time for these snapshots (oldest first), coloured by `colours`; a short
 * sentence instead when there are fewer than two (nothing to draw over time yet).
 */
export function historyChart(snapshots: readonly CountsSnapshot[], colours: Record<StatusKey, string>): SafeHtml {
  if (snapshots.length < 2) {
    return html`<p class="history-empty" id="status-history-empty">The chart of statuses over time appears once the message has been landing for a minute or two.</p>`;
  }
  const s = historySeries(snapshots);
  const t0 = s.times[0]!.getTime();
  const span = Math.max(1, s.times.at(-1)!.getTime() - t0);
  const x = (i: number) => round(LEFT + ((s.times[i]!.getTime() - t0) / span) * (W - LEFT - RIGHT));
  const y = (n: number) => round(TOP + (1 - n / s.max) * (H - TOP - BOTTOM));
  const areas = s.bands.map((b) => {
    const top = b.upper.map((n, i) => `${x(i)},${y(n)}`);
    const bottom = b.lower.map((n, i) => `${x(i)},${y(n)}`).reverse();
    return html`<polygon data-status="${b.status}" fill="${colours[b.status]}" points="${[...top, ...bottom].join(' ')}"><title>${STATUSES[b.status].label}</title></polygon>`;
  });
  const first = snapshots[0]!.takenAt;
  const last = snapshots.at(-1)!.takenAt;
  const desc = `Records in each status from ${utcTime(first)} to ${utcTime(last)}. ${latestFigures(snapshots)}`;
  const axes = html`<line x1="${LEFT}" y1="${y(0)}" x2="${W - RIGHT}" y2="${y(0)}" stroke="#888"/><line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${y(0)}" stroke="#888"/><text x="${LEFT - 4}" y="${y(s.max) + 4}" font-size="11" text-anchor="end">${s.max}</text><text x="${LEFT - 4}" y="${y(0)}" font-size="11" text-anchor="end">0</text><text x="${LEFT}" y="${H - 6}" font-size="11">${utcTime(first)}</text><text x="${W - RIGHT}" y="${H - 6}" font-size="11" text-anchor="end">${utcTime(last)}</text>`;
  const legend = join(
    [...s.bands]
      .reverse()
      .map(
        (b) =>
          html`<li data-status="${b.status}"><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${colours[b.status]}"/></svg> ${STATUSES[b.status].label}</li>`,
      ),
  );
  const shown = STATUS_KEYS.filter((k) => s.bands.some((b) => b.status === k));
  const rows = snapshots.map(
    (p) =>
      html`<tr><td><time datetime="${p.takenAt.toISOString()}">${utcTime(p.takenAt)}</time></td>${shown.map(
        (k) => html`<td data-status="${k}">${p.status[k]}</td>`,
      )}<td class="sum">${p.total}</td></tr>`,
  );
  return html`<figure class="history" id="status-history">
    <svg class="history-chart" role="img" aria-labelledby="status-history-title status-history-desc" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><title id="status-history-title">Statuses over time</title><desc id="status-history-desc">${desc}</desc>${axes}${areas}</svg>
    <figcaption><ul class="history-legend">${legend}</ul><small id="status-history-latest">${latestFigures(snapshots)}</small></figcaption>
    <details><summary>Statuses over time as a table</summary><table class="history-table"><thead><tr><th>Time</th>${shown.map(
      (k) => html`<th>${STATUSES[k].label}</th>`,
    )}<th>All</th></tr></thead><tbody>${rows}</tbody></table></details>
  </figure>`;
}
