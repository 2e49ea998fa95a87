import { SendEmailCommand, SESv2Client, SESv2ServiceException, type MessageTag } from '@aws-sdk/client-sesv2';
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  type OutboundMessage,
  type Provider,
  type SendOptions,
} from '../../domain/provider.js';
import { correlation } from './correlation.js';
import { callTimeout, isTransient, truncate, unreachable } from './http.js';

/** How to reach Amazon SES (API v2). */
export interface SesProviderOptions {
  readonly region: string;
  /** Configuration set whose event destination publishes the events provider-callback receives. */
  readonly configurationSet: string;
  /** The From address ("Name <a@b>" or "a@b"); its identity must be verified in SES. */
  readonly from: string;
  /** Static credentials; without them the SDK's default chain (env, web identity, instance role) is used. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Endpoint override (tests, VPC endpoints); the regional public endpoint otherwise. */
  readonly endpoint?: string;
  readonly timeoutMs: number;
}

const TAG_SAFE = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * A message tag value in SES's charset (ASCII letters, digits, `_`, `-`; at most 256): a value
 * already in it (every ID of ours) is sent as is; any other as `b64_` + base64url of its UTF-8.
 */
export function sesTagValue(value: string): string {
  if (TAG_SAFE.test(value)) return value;
  return `b64_${Buffer.from(value, 'utf8').toString('base64url')}`.slice(0, 256);
}

/** Error names SES uses for "slow down / come back later" even when the HTTP status is 4xx. */
const THROTTLED = new Set(['TooManyRequestsException', 'Throttling', 'ThrottlingException', 'LimitExceededException']);

/**
 * {@link Provider} over Amazon SES v2 `SendEmail` (simple content, text and HTML bodies): one recipient, our IDs as
 * message tags, the configuration set from config, extra headers as content headers.
 */
export class SesProvider implements Provider {
  readonly name = 'ses';
  private readonly client: SESv2Client;

  constructor(private readonly options: SesProviderOptions) {
    this.client = new SESv2Client({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
      // The dispatcher retries with its own backoff and budget: one HTTP call per send here.
      maxAttempts: 1,
    });
  }

  /** Sends one email. 2xx → SES's MessageId; throttling/5xx/network/timeout → unavailable; other 4xx → rejected. */
  async send(message: OutboundMessage, options?: SendOptions): Promise<{ providerMessageId: string }> {
    const timeoutMs = callTimeout(this.options.timeoutMs, options?.timeoutMs);
    const tags: MessageTag[] = Object.entries(correlation(message)).map(([Name, value]) => ({
      Name,
      Value: sesTagValue(value),
    }));
    const headers = Object.entries(message.headers ?? {}).map(([Name, Value]) => ({ Name, Value }));
    const command = new SendEmailCommand({
      FromEmailAddress: this.options.from,
      Destination: { ToAddresses: [message.to] },
      Content: {
        Simple: {
          Subject: { Data: message.subject ?? '', Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.body, Charset: 'UTF-8' },
            ...(message.html === undefined ? {} : { Html: { Data: message.html, Charset: 'UTF-8' } }),
          },
          ...(headers.length > 0 ? { Headers: headers } : {}),
        },
      },
      ConfigurationSetName: this.options.configurationSet,
      EmailTags: tags,
    });
    try {
      const output = await this.client.send(command, { abortSignal: AbortSignal.timeout(timeoutMs) });
      // Accepted: even without an ID it must not be sent again.
      return { providerMessageId: output.MessageId ?? '' };
    } catch (error) {
      throw sesFailure(error, timeoutMs);
    }
  }

  /** Releases the SDK's sockets. */
  close(): void {
    this.client.destroy();
  }
}

function sesFailure(error: unknown, timeoutMs: number): ProviderRejectedError | ProviderUnavailableError {
  // SES's own errors are SESv2ServiceException; an answer the SDK could not parse (e.g. a plain-text
  // 503 from a load balancer) is another error that still carries the HTTP status in $metadata.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status === undefined || !(error instanceof Error)) return unreachable(error, timeoutMs);
  const service = error instanceof SESv2ServiceException ? error : undefined;
  const name = service?.name ?? `http_${status}`;
  const words = truncate(error.message?.trim() || name);
  if (isTransient(status) || THROTTLED.has(name) || service?.$retryable?.throttling === true) {
    return new ProviderUnavailableError(`http_${status}`, `the provider answered HTTP ${status} ${name}: ${words}`, {
      cause: error,
    });
  }
  return new ProviderRejectedError(name, words);
}
