import type { Logger } from '@dlr/core';
import { pino, type DestinationStream, type LoggerOptions } from 'pino';
import { activeTraceIds } from './tracing.js';

export type { Logger } from '@dlr/core';

/**
 * Keys whose values are personal data or secrets. Any log field with one of these names, at the top
 * level or one level down, is replaced by "[redacted]" — a safety net, not a licence: code should
 * log IDs, not people.
 */
export const REDACTED_KEYS = [
  'email',
  'phone',
  'address',
  'to',
  'name',
  'recipientName',
  'recipient_name',
  'body',
  'text',
  'token',
  'secret',
  'password',
  'authorization',
  'signature',
] as const;

/**
 * Creates the service's root logger (JSON to stdout, ISO time, personal data redacted). A line
 * written while a span is active carries its `trace_id` and `span_id`.
 * `destination` replaces stdout; tests use it to read what was logged.
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`]);
  // No pino `name` option: `name` is a redacted key (a person's name), the service goes in `service`.
  const options: LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => activeTraceIds() ?? {},
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
