import { describe, expect, it } from 'vitest';
import { CallbackCounters } from './metrics.js';

describe('CallbackCounters', () => {
  it('renders Prometheus text with zeroed series for known providers', () => {
    const text = new CallbackCounters(['simulator']).render();
    expect(text).toContain('# TYPE dlr_callbacks_unmapped_total counter\n');
    expect(text).toContain('dlr_callbacks_unmapped_total{provider="simulator"} 0\n');
    expect(text).toContain('dlr_callbacks_received_total{provider="simulator"} 0\n');
    expect(text).toContain('dlr_callbacks_rejected_total{provider="simulator",reason="signature"} 0\n');
  });

  it('counts per provider and escapes label values', () => {
    const c = new CallbackCounters(['simulator']);
    c.received('simulator');
    c.received('simulator');
    c.unmapped('simulator');
    c.rejected('we"ird', 'malformed');
    expect(c.value('dlr_callbacks_received_total', { provider: 'simulator' })).toBe(2);
    const text = c.render();
    expect(text).toContain('dlr_callbacks_received_total{provider="simulator"} 2\n');
    expect(text).toContain('dlr_callbacks_unmapped_total{provider="simulator"} 1\n');
    expect(text).toContain('dlr_callbacks_rejected_total{provider="we\\"ird",reason="malformed"} 1\n');
  });
});
