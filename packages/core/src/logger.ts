/** Writes one structured line: `fields` (IDs, counts, an `err` — never personal data), then the message. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * What code that logs needs of a logger. `createLogger` in @dlr/platform makes the real one (JSON lines,
 * personal data redacted, trace IDs added); domain code takes this interface and loads no logging library.
 */
export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  /** A logger whose lines also carry `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
}
