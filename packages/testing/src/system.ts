import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './infra/probes.js';

/** The repository root (this file is packages/testing/src/system.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The processes of the whole system, in start order. */
export const SYSTEM_PROCESSES = [
  'provider-simulator',
  'communication',
  'reporting',
  'provider-callback',
  'feedback-link',
  'dispatch',
] as const;

/** One process of the system. */
export type SystemProcessName = (typeof SYSTEM_PROCESSES)[number];

/** Where to reach the running system. */
export interface RunningSystem {
  readonly namespace: string;
  readonly communicationGrpc: string;
  readonly reportingGrpc: string;
  readonly reportingUrl: string;
  readonly feedbackUrl: string;
  readonly providerCallbackUrl: string;
  readonly simulatorUrl: string;
  readonly simulatorApiKey: string;
  /** Admin token (OPERATOR_TOKEN) operators and tests sign in with: `Authorization: Bearer <token>`. */
  readonly operatorToken: string;
  /** Token of the viewer role (reports, CSV, live). */
  readonly viewerToken: string;
  /** Token of the sender role (create, recipients, preview, send, resend). */
  readonly senderToken: string;
  readonly logDir: string;
  /** HTTP base URL of each process (its own routes and /healthz). */
  readonly httpUrls: Readonly<Record<SystemProcessName, string>>;
  /** Admin base URL of each service (`/healthz`, `/readyz`, `/metrics`); the simulator has none. */
  readonly adminUrls: Readonly<Record<ServiceName, string>>;
  /** Stops every process with SIGTERM (reverse start order); resolves with each exit code. */
  stop(): Promise<Record<SystemProcessName, number | null>>;
  /** The simulator's webhook secret (to sign callbacks the way the simulator does). */
  readonly webhookSecret: string;
  /** LINK_SIGNING_KEYS of dispatch and feedback-link (to sign recipients' links the way dispatch does). */
  readonly linkKeys: string;
  /**
   * Starts one more replica of a service (same configuration, its own HTTP port and log
   * `<name>-<n>.log`) and waits until it is ready. `stop()` stops replicas too.
   */
  startReplica(name: ReplicableService, env?: Record<string, string>): Promise<ReplicaProcess>;
  /** Sends `signal` to a service's first process and resolves with its exit code. */
  kill(name: SystemProcessName, signal: NodeJS.Signals): Promise<number | null>;
  /**
   * Starts a service's first process again (after `kill`), on the same ports, and waits until it is
   * ready; `env` adds to its environment from now on (e.g. a configuration fixed by an operator).
   */
  restart(name: SystemProcessName, env?: Record<string, string>): Promise<void>;
}

/** The five services (every process but the simulator). */
export type ServiceName = Exclude<SystemProcessName, 'provider-simulator'>;

/** Services the tests run as several replicas. */
export type ReplicableService = 'dispatch' | 'reporting' | 'provider-callback' | 'feedback-link';

/** An extra replica started by {@link RunningSystem.startReplica}. */
export interface ReplicaProcess {
  readonly httpUrl: string;
  readonly adminUrl: string;
  /** Sends `signal` and resolves with the exit code. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Options for {@link startSystem}. */
export interface StartSystemOptions {
  natsUrl: string;
  mongoUri: string;
  /** Prefix of the MongoDB database names and NATS namespace (lower-case letters/digits). */
  namespace?: string;
  logDir: string;
  logLevel?: string;
  /** Simulator callback delay (ms) and outcome proportions. */
  simulatorDelayMs?: number;
  simulatorOutcomes?: string;
  /** Extra environment per process. */
  extraEnv?: Partial<Record<SystemProcessName, Record<string, string>>>;
  /**
   * Extra environment for every process, e.g. the `OTEL_*` variables that turn telemetry on
   * (`extraEnv` wins where both set a variable).
   */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** How long to wait for every /readyz. */
  readyTimeoutMs?: number;
  /** Start only these processes (default: all of them), e.g. one service for a benchmark. */
  only?: readonly SystemProcessName[];
}

/**
 * Starts the five services and the provider simulator as separate Node processes (TypeScript run
 * by tsx from source), each with its own database, on free loopback ports, and waits until every
 * service's `/readyz` (on its admin port) answers 200 and the simulator's `/healthz`. Each process's
 * output goes to `<logDir>/<name>.log`.
 */
export async function startSystem(options: StartSystemOptions): Promise<RunningSystem> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[system] ${line}\n`));
  const started = SYSTEM_PROCESSES.filter((name) => options.only?.includes(name) ?? true);
  const namespace = options.namespace ?? 'dlr';
  mkdirSync(options.logDir, { recursive: true });
  const ports = {} as Record<SystemProcessName, number>;
  for (const name of SYSTEM_PROCESSES) ports[name] = await freePort();
  const adminPorts = {} as Record<ServiceName, number>;
  for (const name of SYSTEM_PROCESSES) if (name !== 'provider-simulator') adminPorts[name] = await freePort();
  const communicationGrpcPort = await freePort();
  const reportingGrpcPort = await freePort();
  const url = (name: SystemProcessName) => `http://127.0.0.1:${ports[name]}`;
  const adminUrl = (name: ServiceName) => `http://127.0.0.1:${adminPorts[name]}`;
  /** Where a process says it is ready. */
  const readyUrl = (name: SystemProcessName) =>
    name === 'provider-simulator' ? `${url(name)}/healthz` : `${adminUrl(name)}/readyz`;
  const secret = () => randomBytes(24).toString('base64url');
  const simulatorApiKey = secret();
  const operatorToken = secret(); // the admin role
  const viewerToken = secret();
  const senderToken = secret();
  const serviceToken = secret();
  const webhookSecret = secret();
  const linkKeys = `k${Date.now().toString(36)}:${secret()}`;
  const db = (suffix: string) => `${namespace.replaceAll('-', '_')}_${suffix}`;
  const common = {
    NATS_URL: options.natsUrl,
    MONGODB_URI: options.mongoUri,
    NATS_NAMESPACE: namespace,
    HOST: '127.0.0.1',
    LOG_LEVEL: options.logLevel ?? 'info',
    OPERATOR_TOKEN: operatorToken,
    OPERATOR_VIEWER_TOKEN: viewerToken,
    OPERATOR_SENDER_TOKEN: senderToken,
  };
  const env: Record<SystemProcessName, Record<string, string>> = {
    'provider-simulator': {
      HOST: '127.0.0.1',
      LOG_LEVEL: common.LOG_LEVEL,
      SIMULATOR_PORT: String(ports['provider-simulator']),
      SIMULATOR_API_KEY: simulatorApiKey,
      SIMULATOR_WEBHOOK_SECRET: webhookSecret,
      SIMULATOR_CALLBACK_DELAY_MS: String(options.simulatorDelayMs ?? 1_500),
      SIMULATOR_OUTCOMES: options.simulatorOutcomes ?? 'delivered=0.8,bounce=0.1,failed=0.1',
    },
    communication: {
      ...common,
      MONGODB_DB: db('communication'),
      HTTP_PORT: String(ports.communication),
      ADMIN_PORT: String(adminPorts.communication),
      GRPC_PORT: String(communicationGrpcPort),
      // Resend reads statuses from reporting; the console links to its Delivery Report.
      REPORTING_GRPC_URL: `127.0.0.1:${reportingGrpcPort}`,
      SERVICE_TOKEN: serviceToken,
      REPORTING_PUBLIC_URL: url('reporting'),
    },
    reporting: {
      ...common,
      SERVICE_TOKEN: serviceToken,
      MONGODB_DB: db('reporting'),
      HTTP_PORT: String(ports.reporting),
      ADMIN_PORT: String(adminPorts.reporting),
      GRPC_PORT: String(reportingGrpcPort),
    },
    'provider-callback': {
      ...common,
      MONGODB_DB: db('provider_callback'),
      HTTP_PORT: String(ports['provider-callback']),
      ADMIN_PORT: String(adminPorts['provider-callback']),
      SIMULATOR_WEBHOOK_SECRET: webhookSecret,
    },
    'feedback-link': {
      ...common,
      MONGODB_DB: db('feedback'),
      HTTP_PORT: String(ports['feedback-link']),
      ADMIN_PORT: String(adminPorts['feedback-link']),
      LINK_SIGNING_KEYS: linkKeys,
    },
    dispatch: {
      ...common,
      MONGODB_DB: db('dispatch'),
      HTTP_PORT: String(ports.dispatch),
      ADMIN_PORT: String(adminPorts.dispatch),
      SIMULATOR_URL: url('provider-simulator'),
      SIMULATOR_API_KEY: simulatorApiKey,
      PROVIDER_CALLBACK_URL: url('provider-callback'),
      FEEDBACK_BASE_URL: url('feedback-link'),
      LINK_SIGNING_KEYS: linkKeys,
      DISPATCH_CONCURRENCY: process.env.DISPATCH_CONCURRENCY ?? '8',
    },
  };

  const children = new Map<SystemProcessName, { child: ChildProcess; exited: Promise<number | null>; out: LogFile }>();
  const stop = async () => {
    for (const r of replicas) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
      await r.exited;
      clearTimeout(timer);
      r.out.close();
    }
    const codes = {} as Record<SystemProcessName, number | null>;
    for (const name of [...started].reverse()) {
      const entry = children.get(name);
      if (!entry) continue;
      if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGTERM');
      const timer = setTimeout(() => entry.child.kill('SIGKILL'), 15_000);
      codes[name] = await entry.exited;
      clearTimeout(timer);
      entry.out.close();
    }
    return codes;
  };
  const killAll = () => {
    for (const { child } of [...children.values(), ...replicas]) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const spawnProcess = (name: SystemProcessName, logName: string, override: Record<string, string> = {}) => {
    const entry =
      name === 'provider-simulator' ? 'packages/provider-simulator/src/main.ts' : `services/${name}/src/main.ts`;
    const logFile = join(options.logDir, `${logName}.log`);
    // The process writes its log file itself (not through a pipe to this process): its logging
    // costs this process nothing, and goes on if this process dies.
    const out = logFileOf(logFile);
    // DLR_PROFILE_DIR=<dir>: each process writes a V8 CPU profile there when it exits (for benches).
    const profile = process.env['DLR_PROFILE_DIR'];
    const profileArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, logName)}`] : [];
    const child = spawn(process.execPath, [...profileArgs, '--conditions=source', '--import', 'tsx', entry], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        // The services stop by themselves if this process dies without stopping them.
        DLR_EXIT_WITH_PARENT: String(process.pid),
        ...env[name],
        ...options.env,
        ...options.extraEnv?.[name],
        ...override,
      },
      stdio: ['ignore', out.fd, out.fd],
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    log(`started ${logName} (pid ${child.pid}) — log ${logFile}`);
    return { child, exited, out, logFile };
  };
  const waitReady = async (
    logName: string,
    child: ChildProcess,
    readyAt: string,
    logFile: string,
    deadline: number,
  ) => {
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`${logName} exited with code ${child.exitCode} while starting:\n${tail(logFile)}`);
      }
      const ready = await fetch(readyAt).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`${logName} was not ready in time:\n${tail(logFile)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`${logName} ready (${readyAt})`);
  };
  const replicas: { child: ChildProcess; exited: Promise<number | null>; out: LogFile }[] = [];
  /** What restart(name, env) added, for every later start of that process. */
  const restartEnv: Partial<Record<SystemProcessName, Record<string, string>>> = {};

  try {
    for (const name of started) children.set(name, spawnProcess(name, name));
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (const name of started) {
      await waitReady(name, children.get(name)!.child, readyUrl(name), join(options.logDir, `${name}.log`), deadline);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    namespace,
    communicationGrpc: `127.0.0.1:${communicationGrpcPort}`,
    reportingGrpc: `127.0.0.1:${reportingGrpcPort}`,
    reportingUrl: url('reporting'),
    feedbackUrl: url('feedback-link'),
    providerCallbackUrl: url('provider-callback'),
    simulatorUrl: url('provider-simulator'),
    simulatorApiKey,
    operatorToken,
    viewerToken,
    senderToken,
    logDir: options.logDir,
    httpUrls: Object.fromEntries(SYSTEM_PROCESSES.map((n) => [n, url(n)])) as Record<SystemProcessName, string>,
    adminUrls: Object.fromEntries(Object.keys(adminPorts).map((n) => [n, adminUrl(n as ServiceName)])) as Record<
      ServiceName,
      string
    >,
    webhookSecret,
    linkKeys,
    stop: async () => {
      process.off('exit', killAll);
      return stop();
    },
    startReplica: async (name, extra = {}) => {
      const port = await freePort();
      const admin = await freePort();
      const logName = `${name}-${replicas.length + 2}`;
      // Its own gRPC port too (reporting serves gRPC; the others ignore the variable).
      const started = spawnProcess(name, logName, {
        HTTP_PORT: String(port),
        ADMIN_PORT: String(admin),
        GRPC_PORT: String(await freePort()),
        ...extra,
      });
      replicas.push(started);
      const httpUrl = `http://127.0.0.1:${port}`;
      const replicaAdminUrl = `http://127.0.0.1:${admin}`;
      await waitReady(
        logName,
        started.child,
        `${replicaAdminUrl}/readyz`,
        started.logFile,
        Date.now() + (options.readyTimeoutMs ?? 60_000),
      );
      return {
        httpUrl,
        adminUrl: replicaAdminUrl,
        kill: async (signal) => {
          started.child.kill(signal);
          return started.exited;
        },
      };
    },
    kill: async (name, signal) => {
      const entry = children.get(name);
      if (!entry) throw new Error(`${name} is not running`);
      entry.child.kill(signal);
      return entry.exited;
    },
    restart: async (name, extra) => {
      const old = children.get(name);
      if (old && old.child.exitCode === null && old.child.signalCode === null) {
        throw new Error(`${name} is still running: kill it first`);
      }
      old?.out.close();
      restartEnv[name] = { ...restartEnv[name], ...extra };
      const started = spawnProcess(name, name, restartEnv[name]);
      children.set(name, started);
      await waitReady(
        name,
        started.child,
        readyUrl(name),
        started.logFile,
        Date.now() + (options.readyTimeoutMs ?? 60_000),
      );
    },
  };
}

/** A log file opened for appending, handed to a child process as its stdout and stderr. */
interface LogFile {
  readonly fd: number;
  close(): void;
}

function logFileOf(path: string): LogFile {
  const fd = openSync(path, 'a');
  let open = true;
  return {
    fd,
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
