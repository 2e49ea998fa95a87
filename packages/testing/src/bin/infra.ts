// Local infrastructure from the command line.
//
//   npx tsx packages/testing/src/bin/infra.ts up                 # prints NATS_URL=…, MONGODB_URI=…, stays up
//   npx tsx packages/testing/src/bin/infra.ts up --print-json    # one JSON line on stdout when ready (for scripts)
//
// Stays up until SIGINT/SIGTERM/SIGHUP (or, with --exit-on-stdin-close, until stdin closes), then stops cleanly.
import { ensureInfra } from '../infra/resolve.js';
import type { Infra } from '../infra/types.js';

const USAGE = 'usage: infra.ts up [--print-json] [--exit-on-stdin-close] [--data-dir <dir>]';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== 'up') {
    process.stderr.write(`${USAGE}\n`);
    return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
  }
  let printJson = false;
  let exitOnStdinClose = false;
  let dataDir: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--print-json') printJson = true;
    else if (a === '--exit-on-stdin-close') exitOnStdinClose = true;
    else if (a === '--data-dir' && rest[i + 1]) dataDir = rest[++i];
    else {
      process.stderr.write(`unknown argument ${a}\n${USAGE}\n`);
      return 2;
    }
  }

  // Handle signals from the start, so a signal during install/startup still stops what was started.
  let stopRequested: ((why: string) => void) | undefined;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => stopRequested?.(sig));
  if (exitOnStdinClose) {
    process.stdin.on('end', () => stopRequested?.('stdin closed'));
    process.stdin.on('error', () => stopRequested?.('stdin error'));
    process.stdin.resume();
  }

  const up = ensureInfra(dataDir ? { dataDir } : {}).then(
    (i) => ({ ok: true as const, infra: i }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  const first = await Promise.race([up, stopSignal]);
  if (typeof first === 'string') {
    process.stderr.write(`[infra] ${first} during startup; stopping\n`);
    const r = await up;
    if (r.ok) await r.infra.stop();
    return 130;
  }
  if (!first.ok) {
    process.stderr.write(`[infra] ERROR: ${first.err instanceof Error ? first.err.message : String(first.err)}\n`);
    return 1;
  }
  const infra: Infra = first.infra;
  if (printJson) {
    process.stdout.write(
      `${JSON.stringify({ natsUrl: infra.natsUrl, mongoUri: infra.mongoUri, path: infra.path, summary: infra.summary })}\n`,
    );
  } else {
    process.stdout.write(`NATS_URL=${infra.natsUrl}\nMONGODB_URI=${infra.mongoUri}\nDLR_INFRA_PATH=${infra.path}\n`);
    process.stderr.write(`[infra] path: ${infra.path}; up until Ctrl-C\n`);
  }
  const why = await stopSignal;
  process.stderr.write(`[infra] ${why}: stopping\n`);
  await infra.stop();
  process.stderr.write('[infra] stopped\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[infra] ERROR: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
