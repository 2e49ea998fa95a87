import { parseLinkKeys } from '@dlr/links';
import { z } from 'zod';

/** Variables of feedback-link (the base variables come from the platform). */
export const configShape = {
  /**
   * Keys that verify recipient links, "id:secret,id:secret" (newest first, each secret ≥ 32
   * characters). Remove a key to refuse every link it signed.
   */
  LINK_SIGNING_KEYS: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseLinkKeys(value);
      } catch (error) {
        // parseLinkKeys names key IDs only, never secrets.
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid keys' });
      }
    })
    .transform((value) => parseLinkKeys(value)),
} as const;

/** The validated configuration of feedback-link. */
export type FeedbackConfig = Readonly<z.output<z.ZodObject<typeof configShape>>>;
