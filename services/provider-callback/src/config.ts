import { z } from 'zod';
import { sendgridPublicKey } from './domain/sendgrid.js';

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/**
 * Variables of provider-callback (the base variables come from the platform). Every provider is
 * optional: the endpoint of a provider without its variables answers 404.
 */
export const configShape = {
  /** Shared secret the simulator signs its callbacks with (HMAC-SHA256); enables `/v1/callbacks/simulator`. */
  SIMULATOR_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How far a callback's timestamp may be from our clock, in seconds (the replay window). */
  CALLBACK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(300),
  /** Largest callback body accepted, in bytes (413 beyond). SendGrid batches reach 768 KB. */
  CALLBACK_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(16 * 1_048_576)
    .default(1_048_576),
  /** Our public URL base as providers see it behind the ingress (e.g. https://hooks.example.org); Twilio signs it. */
  CALLBACK_PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Comma-separated SNS topic ARNs whose SES events we accept; enables `/v1/callbacks/ses`. */
  SES_SNS_TOPIC_ARNS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(TOPIC_ARN, 'must be SNS topic ARNs')).min(1))
    .optional(),
  /** How far (seconds) an SNS message's signed Timestamp may be from now, either way; older ones are replays. */
  SES_SNS_REPLAY_WINDOW_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3_600),
  /** SendGrid's Event Webhook verification key (base64 DER or PEM); enables `/v1/callbacks/sendgrid`. */
  SENDGRID_WEBHOOK_PUBLIC_KEY: z
    .string()
    .refine((v) => {
      try {
        sendgridPublicKey(v);
        return true;
      } catch {
        return false;
      }
    }, 'must be an EC P-256 public key (base64 DER or PEM)')
    .optional(),
  /** Mailgun's HTTP webhook signing key; enables `/v1/callbacks/mailgun`. */
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Twilio auth token (signs status callbacks); enables `/v1/callbacks/twilio` (needs CALLBACK_PUBLIC_BASE_URL). */
  TWILIO_AUTH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * `all`: webhooks and the consumers behind them (archive, normalize, park, release). `webhooks`: only
   * the webhooks, so an edge replica spends its CPU on answering providers (at least one `all`
   * replica must run to drain what they commit).
   */
  CALLBACK_ROLE: z.enum(['all', 'webhooks']).default('all'),
  /** How often parked callbacks are retried against what dispatch reported, in seconds. */
  PARKED_RETRY_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** How long a callback may stay parked before it expires (kept raw with the reason, not published), in seconds. */
  PARKED_EXPIRY_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(90 * 86_400)
    .default(7 * 86_400),
  /** Seconds raw callbacks are kept after receipt (0: forever). Bounds how long provider payloads (addresses) stay. */
  RAW_CALLBACK_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_650 * 86_400)
    .default(90 * 86_400),
  /** Seconds a parked callback is kept after parking (0: until released or expired); above PARKED_EXPIRY_SECONDS. */
  PARKED_CALLBACK_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_650 * 86_400)
    .default(30 * 86_400),
  /** How often expired raw and parked callbacks are deleted by the service itself (FerretDB has no TTL monitor), in seconds. */
  RETENTION_SWEEP_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3_600),
} as const;

/** The validated configuration of provider-callback. */
export type CallbackConfig = Readonly<z.output<z.ZodObject<typeof configShape>>>;
