import { checkProviderConfig, type ProviderConfig } from '../../config.js';
import type { ChannelName, Provider } from '../../domain/provider.js';
import { MailgunProvider } from './mailgun.js';
import { localLimiters, rateLimited, type LimiterFactory } from './rate-limit.js';
import { SendGridProvider } from './sendgrid.js';
import { SesProvider } from './ses.js';
import { SimulatorProvider } from './simulator.js';
import { SmtpProvider } from './smtp.js';
import { TwilioProvider } from './twilio.js';

/** What provider selection needs besides the provider variables. */
export type SelectionConfig = ProviderConfig & {
  readonly PROVIDER_CALLBACK_URL: string;
  readonly PROVIDER_TIMEOUT_MS: number;
};

/** The provider of each channel, and how to release their connections. */
export interface SelectedProviders {
  readonly providers: Readonly<Record<ChannelName, Provider>>;
  /** Closes pooled connections (SMTP, SES); call after the last send. */
  close(): void;
}

/**
 * Builds the provider of each channel from config (EMAIL_PROVIDER, SMS_PROVIDER), each behind its
 * own rate limit (`<PROVIDER>_RATE_PER_SECOND`, from `limiters`: shared by the deployment's
 * replicas in production, per process by default). The simulator serving both channels is one
 * instance with one limit. Throws a ConfigError naming every missing variable of a chosen provider.
 */
export function selectProviders(config: SelectionConfig, limiters: LimiterFactory = localLimiters): SelectedProviders {
  checkProviderConfig(config);
  const limited = (provider: Provider, rate: number) => rateLimited(provider, rate, limiters);
  const closers: (() => void)[] = [];
  const timeoutMs = config.PROVIDER_TIMEOUT_MS;
  let simulator: Provider | undefined;
  const simulatorProvider = (): Provider =>
    (simulator ??= limited(
      new SimulatorProvider({
        baseUrl: config.SIMULATOR_URL!,
        apiKey: config.SIMULATOR_API_KEY!,
        callbackBaseUrl: config.PROVIDER_CALLBACK_URL,
        timeoutMs,
      }),
      config.SIMULATOR_RATE_PER_SECOND,
    ));
  const from = config.EMAIL_FROM!;

  const email = ((): Provider => {
    switch (config.EMAIL_PROVIDER) {
      case 'simulator':
        return simulatorProvider();
      case 'ses': {
        const ses = new SesProvider({
          region: config.SES_REGION!,
          configurationSet: config.SES_CONFIGURATION_SET!,
          from,
          ...(config.SES_ACCESS_KEY_ID !== undefined && config.SES_SECRET_ACCESS_KEY !== undefined
            ? { credentials: { accessKeyId: config.SES_ACCESS_KEY_ID, secretAccessKey: config.SES_SECRET_ACCESS_KEY } }
            : {}),
          ...(config.SES_ENDPOINT === undefined ? {} : { endpoint: config.SES_ENDPOINT }),
          timeoutMs,
        });
        closers.push(() => ses.close());
        return limited(ses, config.SES_RATE_PER_SECOND);
      }
      case 'sendgrid':
        return limited(
          new SendGridProvider({
            apiKey: config.SENDGRID_API_KEY!,
            from,
            baseUrl: config.SENDGRID_BASE_URL,
            timeoutMs,
          }),
          config.SENDGRID_RATE_PER_SECOND,
        );
      case 'mailgun':
        return limited(
          new MailgunProvider({
            apiKey: config.MAILGUN_API_KEY!,
            domain: config.MAILGUN_DOMAIN!,
            from,
            baseUrl: config.MAILGUN_BASE_URL,
            timeoutMs,
          }),
          config.MAILGUN_RATE_PER_SECOND,
        );
      case 'smtp': {
        const smtp = new SmtpProvider({
          host: config.SMTP_HOST!,
          port: config.SMTP_PORT,
          secure: config.SMTP_SECURE,
          requireTls: config.SMTP_REQUIRE_TLS,
          ...(config.SMTP_USER !== undefined && config.SMTP_PASSWORD !== undefined
            ? { auth: { user: config.SMTP_USER, pass: config.SMTP_PASSWORD } }
            : {}),
          from,
          maxConnections: config.SMTP_MAX_CONNECTIONS,
          timeoutMs,
        });
        closers.push(() => smtp.close());
        return limited(smtp, config.SMTP_RATE_PER_SECOND);
      }
    }
  })();

  const sms = ((): Provider => {
    switch (config.SMS_PROVIDER) {
      case 'simulator':
        return simulatorProvider();
      case 'twilio':
        return limited(
          new TwilioProvider({
            accountSid: config.TWILIO_ACCOUNT_SID!,
            authToken: config.TWILIO_AUTH_TOKEN!,
            sender:
              config.TWILIO_MESSAGING_SERVICE_SID !== undefined
                ? { messagingServiceSid: config.TWILIO_MESSAGING_SERVICE_SID }
                : { from: config.TWILIO_FROM! },
            callbackBaseUrl: config.PROVIDER_CALLBACK_URL,
            baseUrl: config.TWILIO_BASE_URL,
            timeoutMs,
          }),
          config.TWILIO_RATE_PER_SECOND,
        );
    }
  })();

  return {
    providers: { email, sms },
    close: () => {
      for (const close of closers) close();
    },
  };
}
