import { readFileSync } from 'node:fs';
import { STATUS_KEYS, STATUSES } from '@dlr/status-engine';
import { describe, expect, it } from 'vitest';
import { bundleReportScript, GENERATED } from '../../../scripts/bundle-browser.js';
import { REPORT_SCRIPT } from './assets.js';
import { statusIcon } from './html.js';

describe('the report pages’ script', () => {
  it('is the bundle of src/browser/report.ts as it is now (run `npm run bundle -w @dlr/reporting` if not)', async () => {
    const fresh = await bundleReportScript();
    expect(
      readFileSync(GENERATED, 'utf8') === fresh,
      'src/gen/report-script.ts is stale: npm run bundle -w @dlr/reporting',
    ).toBe(true);
  });

  it('is plain browser JavaScript with the icons and labels filled in', () => {
    expect(REPORT_SCRIPT).not.toMatch(/__STATUS_(ICONS|LABELS)__(?!>)|\bimport\b|\brequire\(/);
    for (const k of STATUS_KEYS) {
      expect(REPORT_SCRIPT).toContain(String(statusIcon(k)));
      expect(REPORT_SCRIPT).toContain(`${k}: ${JSON.stringify(STATUSES[k].label)}`);
    }
    // It parses (the browser test runs it).
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    expect(() => new Function(REPORT_SCRIPT)).not.toThrow();
  });
});
