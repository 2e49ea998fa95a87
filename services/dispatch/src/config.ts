import { parseLinkKeys } from '@dlr/links';
import { ConfigError, flag, port } from '@dlr/platform';
import { z } from 'zod';
import { parseMailbox } from './adapters/providers/http.js';

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .transform((u) => u.replace(/\/+$/, ''));

/** Calls per second to one provider; 0 = no limit of ours. */
const rate = z.coerce.number().min(0).max(100_000).default(0);
const secret = z.string().min(1).optional();
const mailbox = z
  .string()
  .refine((v) => parseMailbox(v) !== undefined, 'must be "Name <address>" or an address')
  .optional();

/** Email providers dispatch can use. */
export const EMAIL_PROVIDERS = ['simulator', 'ses', 'sendgrid', 'mailgun', 'smtp'] as const;
/** SMS providers dispatch can use. */
export const SMS_PROVIDERS = ['simulator', 'twilio'] as const;

/**
 * Provider variables. Each is optional here; which ones are required depends on EMAIL_PROVIDER and
 * SMS_PROVIDER and is checked by {@link providerConfigSchema}.
 */
const providerShape = {
  /** Which provider sends email. */
  EMAIL_PROVIDER: z.enum(EMAIL_PROVIDERS).default('simulator'),
  /** Which provider sends SMS. */
  SMS_PROVIDER: z.enum(SMS_PROVIDERS).default('simulator'),
  /** Base URL of the provider simulator's API (when a channel uses the simulator). */
  SIMULATOR_URL: httpUrl.optional(),
  SIMULATOR_API_KEY: secret,
  SIMULATOR_RATE_PER_SECOND: rate,
  /** From mailbox of every real email provider: "Name <address>" or an address. */
  EMAIL_FROM: mailbox,
  /** Amazon SES (API v2). Credentials: both keys, or neither (the SDK's default chain: role, env). */
  SES_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1')
    .optional(),
  SES_CONFIGURATION_SET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a configuration set name')
    .optional(),
  SES_ACCESS_KEY_ID: secret,
  SES_SECRET_ACCESS_KEY: secret,
  /** Endpoint override (tests, VPC endpoints); the regional public endpoint otherwise. */
  SES_ENDPOINT: httpUrl.optional(),
  SES_RATE_PER_SECOND: rate,
  SENDGRID_API_KEY: secret,
  SENDGRID_BASE_URL: httpUrl.default('https://api.sendgrid.com'),
  SENDGRID_RATE_PER_SECOND: rate,
  MAILGUN_API_KEY: secret,
  /** The Mailgun sending domain, e.g. mg.example.org. */
  MAILGUN_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a domain name')
    .optional(),
  /** https://api.mailgun.net, or https://api.eu.mailgun.net for EU domains. */
  MAILGUN_BASE_URL: httpUrl.default('https://api.mailgun.net'),
  MAILGUN_RATE_PER_SECOND: rate,
  SMTP_HOST: z.string().min(1).optional(),
  SMTP_PORT: port(587),
  /** TLS from the first byte (port 465); otherwise STARTTLS. */
  SMTP_SECURE: flag(false),
  /** Refuse to send or authenticate over an unencrypted connection. */
  SMTP_REQUIRE_TLS: flag(true),
  /** SMTP credentials: both, or neither (no authentication). */
  SMTP_USER: secret,
  SMTP_PASSWORD: secret,
  SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100).default(5),
  SMTP_RATE_PER_SECOND: rate,
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must be an account SID (AC + 32 hex digits)')
    .optional(),
  TWILIO_AUTH_TOKEN: secret,
  /** Sender number or sender ID; or use TWILIO_MESSAGING_SERVICE_SID (exactly one of the two). */
  TWILIO_FROM: z.string().min(1).optional(),
  TWILIO_MESSAGING_SERVICE_SID: z
    .string()
    .regex(/^MG[0-9a-fA-F]{32}$/, 'must be a Messaging Service SID (MG + 32 hex digits)')
    .optional(),
  TWILIO_BASE_URL: httpUrl.default('https://api.twilio.com'),
  TWILIO_RATE_PER_SECOND: rate,
} as const;

/** The provider variables as loaded. */
export type ProviderConfig = z.output<z.ZodObject<typeof providerShape>>;

/** Variables required by each provider when it is chosen. */
const REQUIRED: Record<(typeof EMAIL_PROVIDERS)[number] | (typeof SMS_PROVIDERS)[number], (keyof ProviderConfig)[]> = {
  simulator: ['SIMULATOR_URL', 'SIMULATOR_API_KEY'],
  ses: ['EMAIL_FROM', 'SES_REGION', 'SES_CONFIGURATION_SET'],
  sendgrid: ['EMAIL_FROM', 'SENDGRID_API_KEY'],
  mailgun: ['EMAIL_FROM', 'MAILGUN_API_KEY', 'MAILGUN_DOMAIN'],
  smtp: ['EMAIL_FROM', 'SMTP_HOST'],
  twilio: ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'],
};

/** Pairs that must be set together or not at all. */
const PAIRS: [keyof ProviderConfig, keyof ProviderConfig, string][] = [
  ['SES_ACCESS_KEY_ID', 'SES_SECRET_ACCESS_KEY', 'ses'],
  ['SMTP_USER', 'SMTP_PASSWORD', 'smtp'],
];

/**
 * The cross-variable rules of the loaded provider variables: each chosen provider's variables are
 * required (an issue names the missing variable and the choice that needs it); unused providers'
 * variables may be absent. Values are never part of a message.
 */
export const providerConfigSchema = z
  .custom<ProviderConfig>((v) => typeof v === 'object' && v !== null)
  .superRefine((vars, ctx) => {
    const chosen = new Map<string, string>([
      [vars.EMAIL_PROVIDER, 'EMAIL_PROVIDER'],
      [vars.SMS_PROVIDER, 'SMS_PROVIDER'],
    ]);
    if (vars.EMAIL_PROVIDER === vars.SMS_PROVIDER) chosen.set(vars.EMAIL_PROVIDER, 'EMAIL_PROVIDER and SMS_PROVIDER');
    for (const [provider, by] of chosen) {
      for (const key of REQUIRED[provider as keyof typeof REQUIRED]) {
        if (vars[key] === undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `is required when ${by} is ${provider}` });
        }
      }
    }
    for (const [a, b, provider] of PAIRS) {
      if (!chosen.has(provider)) continue;
      if ((vars[a] === undefined) !== (vars[b] === undefined)) {
        const missing = vars[a] === undefined ? a : b;
        ctx.addIssue({
          code: 'custom',
          path: [missing],
          message: `is required together with ${missing === a ? b : a}`,
        });
      }
    }
    if (
      vars.SMS_PROVIDER === 'twilio' &&
      (vars.TWILIO_FROM === undefined) === (vars.TWILIO_MESSAGING_SERVICE_SID === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_FROM'],
        message: 'set exactly one of TWILIO_FROM and TWILIO_MESSAGING_SERVICE_SID when SMS_PROVIDER is twilio',
      });
    }
  });

/**
 * Checks the provider variables of a loaded config against {@link providerConfigSchema}.
 * Throws a ConfigError listing every missing or conflicting variable (names only, no values).
 */
export function checkProviderConfig<C extends ProviderConfig>(config: C): C {
  const result = providerConfigSchema.safeParse(config);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return config;
}

/** Variables of dispatch (the base variables come from the platform). */
export const configShape = {
  ...providerShape,
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
  /** How long an acknowledge / respond link stays valid. */
  LINK_TTL_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  /** How long an opt-out link (and List-Unsubscribe) stays valid: at least 30 days. */
  LINK_OPTOUT_TTL_DAYS: z.coerce.number().int().min(30).max(3_650).default(90),
  /**
   * Base URL of SMS short links, `<it>/s/<code>` (a short host routed to feedback-link, e.g.
   * https://alert.example.org); FEEDBACK_BASE_URL when unset. The whole link must stay ≤ 40 characters.
   */
  SHORT_LINK_BASE_URL: httpUrl
    .refine(
      (u) => u.replace(/\/+$/, '').length + 14 <= 40,
      'must leave room for "/s/<10-character code>" within 40 characters',
    )
    .optional(),
  /** Address for the mailto: part of List-Unsubscribe (e.g. unsubscribe@alert.example.org); none when unset. */
  LIST_UNSUBSCRIBE_MAILTO: z.email().optional(),
  /** Provider calls in flight at once in one replica (over its batches). */
  DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(64),
  /** Send requests taken from JetStream per batch (one store read, one write of attempts, one of results). */
  DISPATCH_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(250),
  /** Batches one replica handles at once: one's store writes overlap another's provider calls. */
  DISPATCH_BATCHES_IN_FLIGHT: z.coerce.number().int().min(1).max(8).default(2),
  /** Retries of a provider that is unavailable, after the first call. */
  PROVIDER_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(4),
  /** Timeout of one provider call. */
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(10_000),
  /** First delay between provider retries; doubles each time with jitter, capped at 8 s. */
  PROVIDER_RETRY_BASE_MS: z.coerce.number().int().min(1).max(8_000).default(500),
} as const;
