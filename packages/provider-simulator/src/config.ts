import { baseConfigShape, port } from '@dlr/platform';
import { z } from 'zod';
import { DEFAULT_OUTCOMES, parseOutcomeWeights } from './protocol.js';
import type { SimulatorOptions } from './simulator.js';

/** Variables of the simulator process (it has no MongoDB or NATS). */
export const simulatorConfigShape = {
  HOST: baseConfigShape.HOST,
  LOG_LEVEL: baseConfigShape.LOG_LEVEL,
  SIMULATOR_PORT: port(4010),
  /** Bearer key the send and outbox APIs require. */
  SIMULATOR_API_KEY: z.string().min(1),
  /** Secret the callbacks are signed with; provider-callback must have the same. */
  SIMULATOR_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters'),
  /** Mean delay before a callback, ±50% jitter. */
  SIMULATOR_CALLBACK_DELAY_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_500),
  /** Random outcome mix for addresses that are not magic, e.g. "delivered=0.8,bounce=0.1,failed=0.1". */
  SIMULATOR_OUTCOMES: z
    .string()
    .default(DEFAULT_OUTCOMES)
    .superRefine((value, ctx) => {
      try {
        parseOutcomeWeights(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      }
    }),
  /** Fraction of send calls answered 503, 0..1. */
  SIMULATOR_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
} as const;

/** The validated simulator configuration. */
export type SimulatorConfig = Readonly<z.output<z.ZodObject<typeof simulatorConfigShape>>>;

/** Maps the process configuration to {@link SimulatorOptions}. */
export function simulatorOptions(config: SimulatorConfig): SimulatorOptions {
  return {
    apiKey: config.SIMULATOR_API_KEY,
    webhookSecret: config.SIMULATOR_WEBHOOK_SECRET,
    callbackDelayMs: config.SIMULATOR_CALLBACK_DELAY_MS,
    outcomes: config.SIMULATOR_OUTCOMES,
    failRate: config.SIMULATOR_FAIL_RATE,
  };
}
