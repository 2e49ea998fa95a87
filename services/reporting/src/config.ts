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
};
