import { parseLinkKeys } from '@dlr/links';
import { z } from 'zod';
import { DEFAULT_SCANNER_USER_AGENTS } from './domain/feedback.js';

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
  /**
   * User-Agent substrings (comma-separated, case-insensitive) of link scanners and previewers: their
   * hits are recorded as suspected bots, never ranked. Empty keeps the built-in list.
   */
  LINK_SCANNER_USER_AGENTS: z
    .string()
    .default('')
    .transform((value) => {
      const list = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      return list.length > 0 ? list : DEFAULT_SCANNER_USER_AGENTS;
    }),
  /** Hits this many seconds or less after a link was minted (the send) are suspected bots. */
  LINK_BOT_WINDOW_SECONDS: z.coerce.number().int().min(0).max(600).default(5),
  /**
   * Seconds the pages' content of a communication is kept after it was published (0: forever). Keep it
   * above dispatch's longest link lifetime (LINK_OPTOUT_TTL_DAYS, 90 days by default).
   */
  LINK_CONTENT_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_650 * 86_400)
    .default(180 * 86_400),
  /** How often expired page content is deleted by the service itself (FerretDB has no TTL monitor), in seconds. */
  RETENTION_SWEEP_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3_600),
} as const;

/** The validated configuration of feedback-link. */
export type FeedbackConfig = Readonly<z.output<z.ZodObject<typeof configShape>>>;
