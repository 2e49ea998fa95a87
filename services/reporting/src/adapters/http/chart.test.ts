import { emptyCounts, STATUS_KEYS, type StatusCounts, type StatusKey } from '@dlr/status-engine';
import { describe, expect, it } from 'vitest';
import type { CountsSnapshot } from '../../domain/history.js';
import { historyChart, historySeries, latestFigures } from './chart.js';

const COLOURS = Object.fromEntries(STATUS_KEYS.map((k, i) => [k, `#00000${i}`])) as Record<StatusKey, string>;

function snap(at: string, counts: Partial<StatusCounts>): CountsSnapshot {
  const status = { ...emptyCounts(), ...counts };
  const total = STATUS_KEYS.reduce((a, k) => a + status[k], 0);
  return { bucket: new Date(at), takenAt: new Date(at), total, status };
}

const points = [
  snap('2026-12-07T10:00:00Z', { pending: 10 }),
  snap('2026-12-07T10:01:00Z', { pending: 4, sent: 5, failed: 1 }),
  snap('2026-12-07T10:02:00Z', { sent: 2, delivered: 7, failed: 1 }),
];

describe('historySeries', () => {
  it('stacks only the statuses some point has records in, landed ones at the bottom', () => {
    const s = historySeries(points);
    expect(s.bands.map((b) => b.status)).toEqual(['failed', 'delivered', 'sent', 'pending']);
    expect(s.bands[0]).toEqual({ status: 'failed', lower: [0, 0, 0], upper: [0, 1, 1] });
    expect(s.bands[1]).toEqual({ status: 'delivered', lower: [0, 1, 1], upper: [0, 1, 8] });
    // The top band's upper edge is each point's total.
    expect(s.bands.at(-1)?.upper).toEqual([10, 10, 10]);
    expect(s.max).toBe(10);
  });

  it('has a y axis of at least 1 when there are no records', () => {
    expect(historySeries([snap('2026-12-07T10:00:00Z', {})]).max).toBe(1);
  });
});

describe('historyChart', () => {
  it('says the chart comes later when there are fewer than two snapshots', () => {
    for (const few of [[], points.slice(0, 1)]) {
      const out = String(historyChart(few, COLOURS));
      expect(out).toContain('id="status-history-empty"');
      expect(out).not.toContain('<svg');
    }
  });

  it('draws one coloured area per status, states the latest figures and tables every point', () => {
    const out = String(historyChart(points, COLOURS));
    expect(out).toContain('role="img"');
    expect(out.match(/<polygon /g)).toHaveLength(4);
    expect(out).toContain(`<polygon data-status="delivered" fill="${COLOURS.delivered}"`);
    expect(latestFigures(points)).toBe('Latest (10:02 UTC): 7 Delivered, 2 Sent, 1 Failed; 10 records.');
    expect(out).toContain(
      `<desc id="status-history-desc">Records in each status from 10:00 UTC to 10:02 UTC. ${latestFigures(points)}</desc>`,
    );
    expect(out.match(/<tr><td><time/g)).toHaveLength(3);
    expect(out).toContain('<td data-status="delivered">7</td>');
    // Drawn in the viewBox: the first point on the left axis, the last on the right edge.
    const pending = /<polygon data-status="pending"[^>]* points="([^"]+)"/.exec(out)?.[1] ?? '';
    expect(pending.split(' ')[0]).toBe('44,8');
    expect(pending.split(' ')[2]).toBe('452,8');
  });
});
