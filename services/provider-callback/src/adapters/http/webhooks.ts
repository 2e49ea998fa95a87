import type { KeyObject } from 'node:crypto';
import {
  SIMULATOR_SIGNATURE_HEADER,
  SIMULATOR_TIMESTAMP_HEADER,
  TWILIO_CALLBACK_OVERRIDES,
  verifySimulatorSignature,
} from '@dlr/contracts';
import { UnavailableError } from '@dlr/platform';
import {
  checkMailgunWebhook,
  MAILGUN,
  mailgunEvents,
  parseMailgunEnvelope,
  type MailgunTokenLedger,
} from '../../domain/mailgun.js';
import type { ParseResult } from '../../domain/provider-event.js';
import { SENDGRID, sendgridEvents, verifySendgridSignature } from '../../domain/sendgrid.js';
import { SES, sesEvents } from '../../domain/ses.js';
import { parseSimulatorEvents, SIMULATOR } from '../../domain/simulator.js';
import { checkSnsTimestamp, checkSnsUrl, parseSnsMessage, verifySnsSignature } from '../../domain/sns.js';
import { parseForm, TWILIO, twilioEvents, verifyTwilioSignature } from '../../domain/twilio.js';
import { badSignature, header, malformed, type ProviderWebhook, type ReadResult } from './callback-route.js';
import type { CertificateCache, SnsHttp } from './sns-client.js';

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
const events = (parsed: ParseResult): ReadResult =>
  parsed.ok ? { kind: 'events', events: parsed.events } : malformed(parsed.problems);

/** `POST /v1/callbacks/simulator`: HMAC-SHA256 headers of the provider simulator. */
export function simulatorWebhook(o: { secret: string; toleranceSeconds: number; bodyLimit: number }): ProviderWebhook {
  return {
    provider: SIMULATOR,
    path: '/v1/callbacks/simulator',
    bodyLimit: o.bodyLimit,
    read: async (request, raw, receivedAt) => {
      const verified = verifySimulatorSignature(
        o.secret,
        header(request.headers[SIMULATOR_TIMESTAMP_HEADER]),
        raw,
        header(request.headers[SIMULATOR_SIGNATURE_HEADER]),
        seconds(receivedAt),
        o.toleranceSeconds,
      );
      if (!verified) return badSignature('signature or timestamp did not verify');
      return events(parseSimulatorEvents(raw.toString('utf8')));
    },
    parse: (raw) => parseSimulatorEvents(raw.toString('utf8')),
  };
}

/**
 * `POST /v1/callbacks/ses`: SNS HTTP(S) messages. The TopicArn must be one we expect, the signing
 * certificate must come over HTTPS from an SNS host, the signature (v1 SHA1, v2 SHA256) must
 * verify and the signed Timestamp be within the replay window before anything else happens. A SubscriptionConfirmation is confirmed by GETting its
 * SubscribeURL (also an SNS host); a Notification carries one SES event.
 */
export function sesWebhook(o: {
  topicArns: ReadonlySet<string>;
  replayWindowSeconds: number;
  certificates: CertificateCache;
  http: SnsHttp;
  bodyLimit: number;
}): ProviderWebhook {
  return {
    provider: SES,
    path: '/v1/callbacks/ses',
    bodyLimit: o.bodyLimit,
    read: async (request, raw, receivedAt) => {
      const body = raw.toString('utf8');
      const parsed = parseSnsMessage(body);
      if (!parsed.ok) return malformed(parsed.problems);
      const m = parsed.message;
      if (!o.topicArns.has(m.TopicArn)) return badSignature('unexpected TopicArn');
      const certUrl = checkSnsUrl(m.SigningCertURL, 'cert');
      if (typeof certUrl === 'string') return badSignature(certUrl);
      const certificate = await o.certificates.get(certUrl);
      if (!certificate || !verifySnsSignature(m, certificate, receivedAt))
        return badSignature('SNS signature did not verify');
      const stale = checkSnsTimestamp(m, receivedAt, o.replayWindowSeconds);
      if (stale) return badSignature(stale);
      if (m.Type === 'SubscriptionConfirmation') {
        const subscribeUrl = checkSnsUrl(m.SubscribeURL ?? '', 'subscribe');
        if (typeof subscribeUrl === 'string') return badSignature(subscribeUrl);
        await o.http.get(subscribeUrl).catch((error: unknown) => {
          throw new UnavailableError('could not confirm the SNS subscription; retry later', error);
        });
        request.log.info({ provider: SES, topicArn: m.TopicArn }, 'SNS subscription confirmed');
        return { kind: 'handled', status: 200, body: { status: 'subscribed' } };
      }
      if (m.Type === 'UnsubscribeConfirmation') {
        request.log.warn({ provider: SES, topicArn: m.TopicArn }, 'SNS unsubscribe confirmation received');
        return { kind: 'handled', status: 200, body: { status: 'ignored' } };
      }
      return events(sesEvents(m, body));
    },
    parse: (raw) => {
      const body = raw.toString('utf8');
      const parsed = parseSnsMessage(body);
      return parsed.ok ? sesEvents(parsed.message, body) : parsed;
    },
  };
}

/** `POST /v1/callbacks/sendgrid`: the Signed Event Webhook (ECDSA over timestamp + body), JSON arrays. */
export function sendgridWebhook(o: {
  publicKey: KeyObject;
  toleranceSeconds: number;
  bodyLimit: number;
}): ProviderWebhook {
  return {
    provider: SENDGRID,
    path: '/v1/callbacks/sendgrid',
    bodyLimit: o.bodyLimit,
    read: async (request, raw, receivedAt) => {
      const verified = verifySendgridSignature(
        o.publicKey,
        header(request.headers['x-twilio-email-event-webhook-timestamp']),
        header(request.headers['x-twilio-email-event-webhook-signature']),
        raw,
        seconds(receivedAt),
        o.toleranceSeconds,
      );
      if (!verified) return badSignature('signature or timestamp did not verify');
      return events(sendgridEvents(raw.toString('utf8')));
    },
    parse: (raw) => sendgridEvents(raw.toString('utf8')),
  };
}

/** `POST /v1/callbacks/mailgun`: JSON with `signature` (HMAC-SHA256 of timestamp + token, each token once) and `event-data`. */
export function mailgunWebhook(o: {
  signingKey: string;
  toleranceSeconds: number;
  tokens: MailgunTokenLedger;
  bodyLimit: number;
}): ProviderWebhook {
  return {
    provider: MAILGUN,
    path: '/v1/callbacks/mailgun',
    bodyLimit: o.bodyLimit,
    read: async (_request, raw, receivedAt) => {
      const body = raw.toString('utf8');
      const parsed = parseMailgunEnvelope(body);
      if (!parsed.ok) return malformed(parsed.problems);
      const { signature } = parsed.envelope;
      const check = await checkMailgunWebhook(
        o.signingKey,
        signature,
        seconds(receivedAt),
        o.toleranceSeconds,
        o.tokens,
      );
      if (check === 'bad_signature') return badSignature('signature or timestamp did not verify');
      if (check === 'replayed') return badSignature('signature token already used');
      return events(mailgunEvents(parsed.envelope, body));
    },
    parse: (raw) => {
      const body = raw.toString('utf8');
      const parsed = parseMailgunEnvelope(body);
      return parsed.ok ? mailgunEvents(parsed.envelope, body) : parsed;
    },
  };
}

/**
 * `POST /v1/callbacks/twilio?d=&c=&a=`: form-encoded status callbacks. `X-Twilio-Signature` covers
 * the public URL Twilio called (our configured base + path + our query string, exactly as
 * received) and the sorted form parameters.
 */
export function twilioWebhook(o: { authToken: string; publicBaseUrl: string; bodyLimit: number }): ProviderWebhook {
  const base = o.publicBaseUrl.replace(/\/+$/, '');
  return {
    provider: TWILIO,
    path: '/v1/callbacks/twilio',
    bodyLimit: o.bodyLimit,
    read: async (request, raw) => {
      const form = raw.toString('utf8');
      const url = `${base}${request.url}`;
      const params = parseForm(form);
      const signature = header(request.headers['x-twilio-signature']);
      // Twilio's docs do not say whether the signed URL keeps the connection-override fragment
      // dispatch adds (the request never carries it): accept either.
      const verified =
        verifyTwilioSignature(o.authToken, url, params, signature) ||
        verifyTwilioSignature(o.authToken, `${url}${TWILIO_CALLBACK_OVERRIDES}`, params, signature);
      if (!verified) return badSignature('X-Twilio-Signature did not verify');
      const q = request.url.indexOf('?');
      return events(twilioEvents(form, q < 0 ? '' : request.url.slice(q + 1)));
    },
    parse: (raw, query) => twilioEvents(raw.toString('utf8'), query),
  };
}
