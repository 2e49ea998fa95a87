import { describe, expect, it } from 'vitest';
import { subjectLabel } from './metrics.js';

describe('subjectLabel', () => {
  it('keeps bounded subjects as they are', () => {
    for (const subject of [
      'dlr.v1.dispatch.send-requested',
      'dlr.v1.delivery.event.provider',
      'dlr.v1.reporting.work.12.event',
      'dlr.v1.reporting.work.3.recipients',
      'dlr.v1.dead-letter.reporting-events',
      'ptel0a1b.first',
    ]) {
      expect(subjectLabel(subject)).toBe(subject);
    }
  });

  it('replaces identifiers by *, whatever they look like', () => {
    expect(subjectLabel('dlr.v1.dispatch.link-content.c_YD9PsWiSKtKUzGff')).toBe('dlr.v1.dispatch.link-content.*');
    // A short code that happens to be all lower-case is still an identifier.
    expect(subjectLabel('dlr.v1.dispatch.short-link.abcdefghij')).toBe('dlr.v1.dispatch.short-link.*');
    expect(subjectLabel('dlr.v1.reporting.status-changed.c_abc123XYZ.bounced_temporarily')).toBe(
      'dlr.v1.reporting.status-changed.*.bounced_temporarily',
    );
    // Unknown kinds: anything that is not a lower-case word or a small number.
    expect(subjectLabel('dlr.v1.other.kind.d_9fK2LmQ')).toBe('dlr.v1.other.kind.*');
    expect(subjectLabel('dlr.v1.other.kind.1234567')).toBe('dlr.v1.other.kind.*');
  });
});
