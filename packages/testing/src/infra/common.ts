// Small pieces the infra files share: what is needed, what a path provided, and async/message helpers.
import type { InfraServer } from './types.js';

/** Which servers a path must still provide. */
export interface Need {
  nats: boolean;
  mongo: boolean;
}

/** What one path (containers, local binaries) started, or why it could not. */
export type Provided =
  { servers: { nats?: InfraServer; mongo?: InfraServer }; stop: () => Promise<void> } | { reason: string };

export function describeNeed(need: Need): string {
  return [need.nats && 'NATS', need.mongo && 'MongoDB'].filter(Boolean).join(' and ');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Like Promise.all, but waits for every task to settle before rethrowing the first failure, so cleanup sees all. */
export async function allOrFirstError(tasks: (Promise<void> | false | undefined | '')[]): Promise<void> {
  const results = await Promise.allSettled(tasks.filter((t): t is Promise<void> => t instanceof Promise));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
