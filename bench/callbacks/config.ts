// The benchmark's settings, from BENCH_* environment variables (see README.md).
import { randomInt } from 'node:crypto';

/** Settings of one run. */
export interface BenchConfig {
  /** Keep the run's databases and streams (BENCH_KEEP=1), e.g. to look at the records afterwards. */
  readonly keep: boolean;
  /** Delivery records (email recipients) of the communication. */
  readonly recipients: number;
  /** Target callback posts per second. */
  readonly rate: number;
  /** Length of the schedule. */
  readonly seconds: number;
  /** Fraction of distinct events posted twice. */
  readonly duplicateRate: number;
  /** Freshness is measured for every n-th record. */
  readonly sampleEvery: number;
  readonly maxInFlight: number;
  readonly maxPollers: number;
  /** Longest wait for the report to reach the ground truth (and for each recipient batch to show). */
  readonly settleSeconds: number;
  /** Length of each ceiling measurement. */
  readonly ceilingSeconds: number;
  readonly seed: number;
  /**
   * Where provider-callback's consumers run (BENCH_EDGE): `split` (default) webhooks on one replica,
   * consumers on a second; `deferred` as split, with the consumer replica started only when posting
   * ends (the edge alone on the machine's cores, then the drain); `off` one replica does both.
   */
  readonly edge: 'split' | 'deferred' | 'off';
  /** LOG_LEVEL of the system's processes. */
  readonly logLevel: string;
}

/** Reads the settings; throws naming the variable when one is out of range. */
export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`${name} must be a number from ${min} to ${max} (got ${raw})`);
    }
    return value;
  };
  return {
    keep: env.BENCH_KEEP === '1',
    recipients: Math.round(num('BENCH_RECIPIENTS', 2_000, 1, 200_000)),
    rate: num('BENCH_RATE', 200, 1, 50_000),
    seconds: num('BENCH_SECONDS', 30, 1, 3_600),
    duplicateRate: num('BENCH_DUP_RATE', 0.075, 0, 1),
    sampleEvery: Math.round(num('BENCH_SAMPLE_EVERY', 10, 1, 1_000_000)),
    maxInFlight: Math.round(num('BENCH_MAX_IN_FLIGHT', 2_000, 1, 100_000)),
    maxPollers: Math.round(num('BENCH_MAX_POLLERS', 4, 1, 1_000)),
    settleSeconds: num('BENCH_SETTLE_SECONDS', 120, 1, 3_600),
    ceilingSeconds: num('BENCH_CEILING_SECONDS', 5, 0, 600),
    seed: Math.round(num('BENCH_SEED', randomInt(1, 2 ** 31), 0, 2 ** 32 - 1)),
    edge: edgeMode(env.BENCH_EDGE),
    logLevel: env.BENCH_LOG_LEVEL ?? 'info',
  };
}

function edgeMode(raw: string | undefined): BenchConfig['edge'] {
  if (raw === undefined || raw === '' || raw === 'split') return 'split';
  if (raw === 'deferred' || raw === 'off') return raw;
  if (raw === '0') return 'off';
  throw new Error(`BENCH_EDGE must be split, deferred or off (got ${raw})`);
}
