import { parseLinkKeys } from '@dlr/links';
import { z } from 'zod';

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .transform((u) => u.replace(/\/+$/, ''));

/** Variables of dispatch (the base variables come from the platform). */
export const configShape = {
  /** Base URL of the provider simulator's API. */
  SIMULATOR_URL: httpUrl,
  SIMULATOR_API_KEY: z.string().min(1),
  /** Public base URL of provider-callback; providers post to `<it>/v1/callbacks/<provider>`. */
  PROVIDER_CALLBACK_URL: httpUrl,
  /** Public base URL of feedback-link; acknowledge links are `<it>/a/<token>`. */
  FEEDBACK_BASE_URL: httpUrl,
  /** "kid:secret,kid:secret", newest first (the same value feedback-link verifies with). */
  LINK_SIGNING_KEYS: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseLinkKeys(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      }
    })
    .transform((value) => parseLinkKeys(value)),
  /** How long a recipient link stays valid. */
  LINK_TTL_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  /** Messages handled at once. */
  DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  /** Retries of a provider that is unavailable, after the first call. */
  PROVIDER_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(4),
  /** Timeout of one provider call. */
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(10_000),
  /** First delay between provider retries; doubles each time with jitter, capped at 8 s. */
  PROVIDER_RETRY_BASE_MS: z.coerce.number().int().min(1).max(8_000).default(500),
} as const;
