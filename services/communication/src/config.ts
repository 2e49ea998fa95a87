import { operatorAuthConfigShape, port, serviceAuthConfigShape } from '@dlr/platform';
import { z } from 'zod';
import { isPhoneRegion } from './domain/phone.js';

/** Variables of the communication service (the base ones come from the platform). */
export const configShape = {
  GRPC_PORT: port(50051),
  /** Reporting's gRPC address (host:port): where resend reads the records' statuses (needs SERVICE_TOKEN). Unset: resend is unavailable. */
  REPORTING_GRPC_URL: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port')
    .optional(),
  /** Public base URL of reporting's pages, for the console's links to the Delivery Report. */
  REPORTING_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Characters dispatch's acknowledge link takes in an SMS (the preview's segment count includes it). */
  SMS_LINK_LENGTH: z.coerce.number().int().min(0).max(200).default(40),
  /** ISO 3166 region (e.g. `AU`, `GB`) in which phone numbers without `+<country code>` are read. Unset: only international format. */
  PHONE_DEFAULT_REGION: z
    .string()
    .refine(isPhoneRegion, 'must be an ISO 3166 region code with phone metadata, e.g. AU or GB')
    .optional(),
  ...operatorAuthConfigShape,
  /** Sent to reporting's gRPC, and accepted on ours beside operators' tokens. */
  ...serviceAuthConfigShape,
};
