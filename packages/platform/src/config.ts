import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Variables every service reads: where its stores are and how it logs. */
export const baseConfigShape = {
  SERVICE_NAME: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a MongoDB database name'),
  NATS_URL: z.string().min(1, 'must list one or more nats:// URLs'),
  /** Prefix of every subject and stream name, so several environments can share one NATS. */
  NATS_NAMESPACE: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes')
    .default('dlr'),
  HOST: z.string().default('127.0.0.1'),
  /** Port of the service's own HTTP routes (and `/healthz`); what an Ingress may route to. */
  HTTP_PORT: port(8080),
  /** Port of the admin server: `/healthz`, `/readyz`, `/metrics`. Never routed from outside the cluster. */
  ADMIN_PORT: port(9464),
} as const;

/**
 * A TCP port variable with a default; 0 asks the OS for a free port. Only decimal digits are
 * accepted: `Number()` would read " " as 0 (a random port) and "0x50" or "1e3" as numbers.
 */
export function port(defaultValue: number) {
  const message = 'must be a port number from 0 to 65535';
  return z
    .string()
    .regex(/^\d{1,5}$/, message)
    .transform(Number)
    .pipe(z.number().int().max(65535, message))
    .default(defaultValue);
}

/** A boolean variable written as true/false/1/0. */
export function flag(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0'])
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
}

/**
 * Reads and validates configuration once. Throws a {@link ConfigError} listing every bad or
 * missing variable (never just the first), with the variable names and no values.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<z.output<z.ZodObject<S>>> {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const result = z.object(shape).safeParse(picked);
  if (!result.success) {
    const details = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return picked[key] === undefined && issue.code === 'invalid_type'
        ? `${key}: is required`
        : `${key}: ${issue.message}`;
    });
    throw new ConfigError(details);
  }
  return Object.freeze(result.data);
}
