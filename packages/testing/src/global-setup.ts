// Vitest globalSetup: starts (or finds) NATS + a MongoDB-compatible server once per vitest run.
//
//   // vitest.config.ts of a package that needs them
//   test: { globalSetup: ['@dlr/testing/global-setup'], hookTimeout: 600_000 }
//
// Tests read the URLs either from the environment (process.env.NATS_URL / MONGODB_URI, or infraEnv() from
// '@dlr/testing') or with vitest's inject('natsUrl') / inject('mongoUri').
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { ensureInfra } from './infra/resolve.js';

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    mongoUri: string;
    infraPath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await ensureInfra();
  // With NATS_URL/MONGODB_URI already set (scripts/with-infra.mjs, CI, another project's globalSetup in the same
  // vitest process) ensureInfra just checks them; keep the path that whoever started them reported.
  const infraPath = infra.path === 'env' ? (process.env['DLR_INFRA_PATH'] ?? 'env') : infra.path;
  project.provide('natsUrl', infra.natsUrl);
  project.provide('mongoUri', infra.mongoUri);
  project.provide('infraPath', infraPath);
  // Workers (forks and threads) are created after globalSetup and inherit this environment.
  const vars = { NATS_URL: infra.natsUrl, MONGODB_URI: infra.mongoUri, DLR_INFRA_PATH: infraPath };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await infra.stop();
  };
}
