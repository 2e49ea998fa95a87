// Reading the Delivery Report of the benchmark's communication through reporting's REST API.
import type { HttpClient } from './http.js';
import type { BenchStatus, Expectation } from './plan.js';

/** Total and counts per status, as `GET /api/v1/communications/:id/delivery-records` gives them. */
export interface ReportCounts {
  readonly total: number;
  readonly counts: Readonly<Record<string, number>>;
}

/** The report's total and counts of a communication. */
export function readCounts(reporting: HttpClient, communicationId: string): Promise<ReportCounts> {
  return reporting.getJson<ReportCounts>(
    `/api/v1/communications/${encodeURIComponent(communicationId)}/delivery-records?limit=1`,
  );
}

/** Every status whose count differs from the expected one (statuses not expected must be 0). */
export function countDiff(
  actual: ReportCounts,
  expected: Readonly<Record<BenchStatus, number>>,
): { status: string; expected: number; actual: number }[] {
  const statuses = new Set([...Object.keys(actual.counts), ...Object.keys(expected)]);
  const diff: { status: string; expected: number; actual: number }[] = [];
  for (const status of statuses) {
    const want = (expected as Readonly<Record<string, number>>)[status] ?? 0;
    const got = actual.counts[status] ?? 0;
    if (want !== got) diff.push({ status, expected: want, actual: got });
  }
  return diff;
}

/** Every record of a communication: its status by delivery ID (pages of 1000). */
export async function readStatuses(reporting: HttpClient, communicationId: string): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const path = `/api/v1/communications/${encodeURIComponent(communicationId)}/delivery-records?limit=1000${query}`;
    // A page can take longer than the read timeout on a loaded machine: asked again before giving up.
    const page: RecordPage = await reporting
      .getJson<RecordPage>(path)
      .catch(() => reporting.getJson<RecordPage>(path))
      .catch(() => reporting.getJson<RecordPage>(path));
    for (const r of page.records) statuses.set(r.id, r.status);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return statuses;
}

interface RecordPage {
  readonly records: readonly { readonly id: string; readonly status: string }[];
  readonly nextCursor: string | null;
}

/** One record whose status is not one the ground truth allows. */
export interface WrongRecord {
  readonly deliveryId: string;
  readonly expected: string;
  readonly actual: string;
}

/** The records whose status is not among the possible ones (a missing record shows as `missing`). */
export function wrongRecords(
  statuses: ReadonlyMap<string, string>,
  deliveryIds: readonly string[],
  expectations: readonly Expectation[],
): WrongRecord[] {
  const wrong: WrongRecord[] = [];
  deliveryIds.forEach((deliveryId, i) => {
    const expectation = expectations[i]!;
    const actual = statuses.get(deliveryId) ?? 'missing';
    if (!expectation.possible.has(actual as BenchStatus)) {
      wrong.push({ deliveryId, expected: [...expectation.possible].join('|'), actual });
    }
  });
  return wrong;
}
