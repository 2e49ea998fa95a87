#!/usr/bin/env node
// Runs a command with NATS (JetStream) and a MongoDB-compatible server up:
//
//   node scripts/with-infra.mjs <cmd> [args...]
//
// Starts packages/testing/src/bin/infra.ts through tsx (works before any build), waits for its one JSON line,
// runs <cmd> with NATS_URL, MONGODB_URI and DLR_INFRA_PATH set (node_modules/.bin first on PATH), forwards
// SIGINT/SIGTERM/SIGHUP to it, then stops the servers and exits with the command's exit code.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { constants as osConstants } from 'node:os';

const root = path.resolve(import.meta.dirname, '..');
const binDir = path.join(root, 'node_modules', '.bin');
const tsx = path.join(binDir, 'tsx');
const entry = path.join(root, 'packages', 'testing', 'src', 'bin', 'infra.ts');
const STOP_GRACE_MS = 20_000;

const say = (line) => process.stderr.write(`[infra] ${line}\n`);

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  say('usage: node scripts/with-infra.mjs <cmd> [args...]');
  process.exit(2);
}
if (!existsSync(tsx)) {
  // A fresh clone: install the exact dependency tree from the lockfile first.
  say('node_modules missing: running `npm ci` (once per clone)');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (npm.status !== 0 || !existsSync(tsx)) {
    say('`npm ci` failed: fix the error above (npm registry reachable? Node 20+?) and run the command again');
    process.exit(1);
  }
}

// Own process group (detached): a Ctrl-C in the terminal reaches the command, not the servers; we stop them after
// the command is done. stdin is a pipe that closes if this script dies, and the infra process then stops too.
const infra = spawn(tsx, [entry, 'up', '--print-json', '--exit-on-stdin-close'], {
  cwd: root,
  detached: true,
  stdio: ['pipe', 'pipe', 'inherit'],
});
const infraExited = new Promise((resolve) => infra.once('exit', (code, signal) => resolve({ code, signal })));
infra.once('error', (err) => {
  say(`could not start ${tsx}: ${err.message}`);
  process.exit(1);
});

const ready = await new Promise((resolve) => {
  const rl = createInterface({ input: infra.stdout });
  let done = false;
  rl.on('line', (line) => {
    if (done) return process.stderr.write(`${line}\n`);
    try {
      const info = JSON.parse(line);
      if (info && typeof info.natsUrl === 'string' && typeof info.mongoUri === 'string') {
        done = true;
        return resolve(info);
      }
    } catch {
      // not the JSON line: pass it on
    }
    process.stderr.write(`${line}\n`);
  });
  void infraExited.then(() => {
    if (!done) resolve(undefined);
  });
});

if (!ready) {
  const { code, signal } = await infraExited;
  say(
    `infrastructure did not start (infra process ${signal ? `killed by ${signal}` : `exited ${code}`}); see the error above. Not running: ${cmd}`,
  );
  process.exit(1);
}

say(ready.summary ?? `using ${ready.path}`);

async function stopInfra() {
  if (infra.exitCode !== null || infra.signalCode !== null) return;
  try {
    infra.kill('SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    say(`infra did not stop within ${STOP_GRACE_MS / 1000} s; killing its process group`);
    try {
      process.kill(-infra.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, STOP_GRACE_MS);
  await infraExited;
  clearTimeout(timer);
}

const child = spawn(cmd, args, {
  stdio: 'inherit',
  env: {
    ...process.env,
    PATH: [binDir, process.env.PATH].filter(Boolean).join(path.delimiter),
    NATS_URL: ready.natsUrl,
    MONGODB_URI: ready.mongoUri,
    DLR_INFRA_PATH: ready.path,
  },
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    try {
      child.kill(sig);
    } catch {
      // gone
    }
  });
}

// If the servers die while the command runs, say so (the command will see connection errors).
void infraExited.then(({ code, signal }) => {
  if (child.exitCode === null && child.signalCode === null) {
    say(`WARNING: infrastructure exited while ${cmd} was running (${signal ?? `code ${code}`})`);
  }
});

const exitCode = await new Promise((resolve) => {
  child.once('error', (err) => {
    say(`could not run ${cmd}: ${err.message}`);
    resolve(err.code === 'ENOENT' ? 127 : 1);
  });
  child.once('exit', (code, signal) => {
    resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1));
  });
});

await stopInfra();
process.exit(exitCode);
