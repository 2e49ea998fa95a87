import { verify, type X509Certificate } from 'node:crypto';
import { asObject, parseJson } from './provider-event.js';

/** The SNS message types we receive on an HTTP(S) subscription. */
export type SnsType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** An SNS HTTP(S) message (the fields we read and sign-check). */
export interface SnsMessage {
  readonly Type: SnsType;
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: '1' | '2';
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly Subject?: string;
  readonly Token?: string;
  readonly SubscribeURL?: string;
}

/**
 * SNS's own host names: `sns.<region>.amazonaws.com`, and `.amazonaws.com.cn` for the China
 * regions only. A region is `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, ...
 */
const SNS_HOST =
  /^sns\.(?:(?!cn-)([a-z]{2}(?:-gov)?-[a-z]+-\d{1,2})\.amazonaws\.com|cn-[a-z]+-\d{1,2}\.amazonaws\.com\.cn)$/;

/** True when `host` is exactly an SNS host name of some region (nothing else, no port). */
export function isSnsHost(host: string): boolean {
  return SNS_HOST.test(host);
}

/** How far an SNS message's `Timestamp` may be from now by default (SES_SNS_REPLAY_WINDOW_SECONDS). */
export const SNS_REPLAY_WINDOW_SECONDS = 3_600;

const TYPES: readonly string[] = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'];
const MESSAGE_ID = /^[\x21-\x7e]{1,200}$/;

/** Reads the SNS envelope of a raw body; a problem list when it is not one. Never throws. */
export function parseSnsMessage(body: string): { ok: true; message: SnsMessage } | { ok: false; problems: string[] } {
  const json = parseJson(body);
  const o = json.ok ? asObject(json.value) : undefined;
  if (!o) return { ok: false, problems: ['body: not a JSON object'] };
  const problems: string[] = [];
  const str = (key: string, required = true) => {
    const v = o[key];
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || v === '') problems.push(`${key}: required string`);
  };
  if (typeof o['Type'] !== 'string' || !TYPES.includes(o['Type'])) problems.push('Type: unknown SNS message type');
  for (const key of ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'Signature', 'SigningCertURL']) str(key);
  if (typeof o['MessageId'] === 'string' && !MESSAGE_ID.test(o['MessageId'])) problems.push('MessageId: invalid');
  if (o['SignatureVersion'] !== '1' && o['SignatureVersion'] !== '2')
    problems.push('SignatureVersion: must be "1" or "2"');
  str('Subject', false);
  if (o['Type'] !== 'Notification') {
    str('Token');
    str('SubscribeURL');
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, message: o as unknown as SnsMessage };
}

/** The string SNS signs: `key\nvalue\n` for the type's fields, in byte order of the key names. */
export function snsStringToSign(m: SnsMessage): string {
  const keys =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', ...(m.Subject === undefined ? [] : ['Subject']), 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const record = m as unknown as Record<string, string>;
  return keys.map((k) => `${k}\n${record[k] ?? ''}\n`).join('');
}

/**
 * Checks that a URL SNS gave us (SigningCertURL, SubscribeURL) is HTTPS on an SNS host ({@link isSnsHost}). Returns
 * the parsed URL, or a reason to refuse.
 */
export function checkSnsUrl(value: string, kind: 'cert' | 'subscribe'): URL | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${kind} URL is not a URL`;
  }
  if (url.protocol !== 'https:') return `${kind} URL is not https`;
  if (url.username || url.password) return `${kind} URL carries credentials`;
  if (url.port !== '' || !isSnsHost(url.hostname)) return `${kind} URL host is not an SNS host`;
  if (kind === 'cert' && !url.pathname.endsWith('.pem')) return 'cert URL is not a .pem';
  return url;
}

/**
 * Verifies an SNS signature (version 1: RSA-SHA1, version 2: RSA-SHA256) with the signing
 * certificate, which must be valid at `now`. Never throws.
 */
export function verifySnsSignature(m: SnsMessage, certificate: X509Certificate, now: Date): boolean {
  try {
    if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) return false;
    const algorithm = m.SignatureVersion === '1' ? 'sha1' : 'sha256';
    const signature = Buffer.from(m.Signature, 'base64');
    if (signature.length === 0) return false;
    return verify(algorithm, Buffer.from(snsStringToSign(m), 'utf8'), certificate.publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * Refuses a replay: the message's `Timestamp` (which the signature covers) must be within
 * `windowSeconds` of `now`, either way. Returns a reason to refuse, or undefined.
 */
export function checkSnsTimestamp(m: SnsMessage, now: Date, windowSeconds: number): string | undefined {
  const at = Date.parse(m.Timestamp);
  if (!/^\d{4}-\d\d-\d\dT/.test(m.Timestamp) || Number.isNaN(at)) return 'Timestamp is not an ISO 8601 time';
  if (Math.abs(now.getTime() - at) > windowSeconds * 1_000) return 'Timestamp is outside the replay window';
  return undefined;
}
