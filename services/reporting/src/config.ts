import { operatorAuthConfigShape, port, serviceAuthConfigShape } from '@dlr/platform';
import { z } from 'zod';

/** Variables of the reporting service (the base ones come from the platform). */
export const configShape = {
  /** Operator sign-in for the reports and the API: OPERATOR_TOKEN and/or OIDC_ISSUER_URL + OIDC_AUDIENCE. */
  ...operatorAuthConfigShape,
  /** What communication sends to the gRPC ReportingService (operators use their own tokens there too). */
  ...serviceAuthConfigShape,
  /** Port of the gRPC `ReportingService`; 0 asks the OS for a free port. */
  GRPC_PORT: port(50052),
  /** Messages each routing consumer handles at once (routing only republishes: no store). */
  REPORTING_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
  /** Most work items a partition worker projects in one batch (one bulk write per batch). */
  REPORTING_BATCH_SIZE: z.coerce.number().int().min(1).max(2_000).default(256),
  /**
   * Seconds after a communication's last record change that its records and counts are deleted, all
   * together (0: kept). Keep it above the links' lifetime (dispatch's LINK_OPTOUT_TTL_DAYS).
   */
  DELIVERY_RECORD_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(100 * 365 * 86_400)
    .default(0)
    .refine((s) => s === 0 || s >= 86_400, 'must be 0 (kept) or at least 86400 (a day)'),
  /** How often expired communications are looked for (with DELIVERY_RECORD_RETENTION_SECONDS). */
  RETENTION_SWEEP_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3_600),
  /**
   * How often the counts of communications that changed are snapshotted for the Delivery Report's
   * chart of statuses over time.
   */
  REPORTING_HISTORY_TICK_SECONDS: z.coerce.number().int().min(1).max(3_600).default(20),
  /** Width of the chart's time buckets: at most one snapshot per communication and bucket is kept. */
  REPORTING_HISTORY_BUCKET_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
};
