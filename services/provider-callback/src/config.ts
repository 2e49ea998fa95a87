import { z } from 'zod';

/** Variables of provider-callback (the base variables come from the platform). */
export const configShape = {
  /** Shared secret the simulator signs its callbacks with (HMAC-SHA256). */
  SIMULATOR_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters'),
  /** How far a callback's timestamp may be from our clock, in seconds (the replay window). */
  CALLBACK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(300),
} as const;

/** The validated configuration of provider-callback. */
export type CallbackConfig = Readonly<z.output<z.ZodObject<typeof configShape>>>;
