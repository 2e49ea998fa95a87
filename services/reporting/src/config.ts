import { port } from '@dlr/platform';
import { z } from 'zod';

/** Variables of the reporting service (the base ones come from the platform). */
export const configShape = {
  /** Port of the gRPC `ReportingService`; 0 asks the OS for a free port. */
  GRPC_PORT: port(50052),
  /** Messages each NATS consumer handles at once. */
  REPORTING_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
};
