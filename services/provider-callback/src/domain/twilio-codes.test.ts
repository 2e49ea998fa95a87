import { readFileSync } from 'node:fs';
import { DeliveryStatus, suppressionReason } from '@dlr/contracts';
import { describe, expect, it } from 'vitest';
import { TWILIO_ERROR_CODES, mapTwilioFailure } from './twilio-codes.js';
import { twilioEvents } from './twilio.js';

const DOC = new URL('../../../../docs/twilio-error-codes.md', import.meta.url);

const STATUS_BY_NAME: Record<string, DeliveryStatus> = {
  Failed: DeliveryStatus.DELIVERY_STATUS_FAILED,
  'Bounced Temporarily': DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY,
  'Opted-out': DeliveryStatus.DELIVERY_STATUS_OPTED_OUT,
  'Not Sent': DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
};

interface DocRow {
  code: string;
  meaning: string;
  status: string;
  reasonCode: string;
  suppresses: string;
}

/** The rows of the doc's `## Table` section. */
function docRows(): DocRow[] {
  const text = readFileSync(DOC, 'utf8');
  const table = text.split('## Table')[1]?.split('\n## ')[0] ?? '';
  return table
    .split('\n')
    .filter((l) => /^\| \d+ \|/.test(l))
    .map((l) => {
      const [code, meaning, status, reasonCode, suppresses] = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return { code: code!, meaning: meaning!, status: status!, reasonCode: reasonCode!, suppresses: suppresses! };
    });
}

const suppresses = (m: { status: DeliveryStatus; reasonCode: string }) => suppressionReason(m) !== undefined;

describe('docs/twilio-error-codes.md', () => {
  const rows = docRows();

  it('lists exactly the codes of the table in the code, with the same meanings', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.map((r) => [r.code, r.meaning])).toEqual(TWILIO_ERROR_CODES.map((r) => [r.code, r.meaning]));
  });

  it.each(docRows().map((r) => [r.code, r] as const))('code %s: undelivered as the doc says', (code, row) => {
    const mapping = mapTwilioFailure('undelivered', code);
    expect(STATUS_BY_NAME[row.status]).toBeDefined();
    expect(mapping).toEqual({ status: STATUS_BY_NAME[row.status], reasonCode: row.reasonCode });
    expect(suppresses(mapping)).toBe(row.suppresses === 'yes');
  });

  it.each(docRows().map((r) => [r.code, r] as const))('code %s: failed as the rules say', (code, row) => {
    const mapping = mapTwilioFailure('failed', code);
    const kept = row.suppresses === 'yes';
    if (kept) expect(mapping).toEqual({ status: STATUS_BY_NAME[row.status], reasonCode: row.reasonCode });
    else
      expect(mapping).toEqual({
        status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT,
        reasonCode: row.status === 'Bounced Temporarily' ? 'provider_unavailable' : 'provider_rejected',
      });
    expect(suppresses(mapping)).toBe(kept);
  });

  it('an unknown or missing code: undelivered is Failed `undelivered`, failed is Not Sent; neither suppresses', () => {
    for (const code of ['39999', '', undefined]) {
      const undelivered = mapTwilioFailure('undelivered', code);
      expect(undelivered).toEqual({ status: DeliveryStatus.DELIVERY_STATUS_FAILED, reasonCode: 'undelivered' });
      expect(suppresses(undelivered)).toBe(false);
      const failed = mapTwilioFailure('failed', code);
      expect(failed).toEqual({ status: DeliveryStatus.DELIVERY_STATUS_NOT_SENT, reasonCode: 'provider_rejected' });
      expect(suppresses(failed)).toBe(false);
    }
  });

  it('a status callback is mapped by its ErrorCode', () => {
    const cb = (status: string, code: string) =>
      twilioEvents(`MessageSid=SM1&MessageStatus=${status}&ErrorCode=${code}`, 'd=d_1&c=c_1&a=1');
    const mapped = (status: string, code: string) => {
      const r = cb(status, code);
      return r.ok ? r.events[0]?.mapping : undefined;
    };
    expect(mapped('undelivered', '30003')?.status).toBe(DeliveryStatus.DELIVERY_STATUS_BOUNCED_TEMPORARILY);
    expect(mapped('undelivered', '30005')).toEqual({
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'permanent_bounce',
    });
    expect(mapped('failed', '21610')?.status).toBe(DeliveryStatus.DELIVERY_STATUS_OPTED_OUT);
  });
});
