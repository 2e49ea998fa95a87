#!/usr/bin/env node
// Builds, without a Docker engine, exactly the /app tree of a service's image by running
// deploy/docker/Dockerfile itself on the host:
//
//   node deploy/docker/build-pruned.mjs <service> <outDir> [--cache-dir <dir>] [--node <path>] [--keep-work]
//
// <outDir> receives the runtime image's WORKDIR (/app); a JSON summary of the image (cmd, env,
// user, base image, the paths the assemble step copied, ...) is printed on stdout, progress on
// stderr.
//
// How the Dockerfile is run: every stage gets a directory that stands for its filesystem; a stage
// FROM an earlier stage starts from a copy of it; COPY copies (from the build context, minus
// .dockerignore, or from another stage's directory); RUN runs with /bin/sh in the stage's WORKDIR,
// with every absolute path of the command mapped into the stage's directory and the stage's ARG and
// ENV values in the environment (as BuildKit does; RUN --mount=type=cache is a no-op here). The
// host's node and npm stand in for the external base images: the node major version of a base
// image must be the host's (or that of the node binary given with --node, which then comes first on
// every RUN's PATH, so npm and the build steps run on it), and RUN instructions written directly on an external image (toolchain
// setup) are checked against the host rather than run (only `npm install --global npm@<version>`
// is known). Stages run in dependency order, independent ones concurrently. Any other instruction,
// flag or form makes this script fail rather than guess.
//
// --cache-dir keeps turbo's task cache there (TURBO_CACHE_DIR) and lets npm prefer its local cache,
// for repeated builds (e.g. the five services of the e2e test); the files produced are the same.
import { spawn, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const DOCKERFILE = join(HERE, 'Dockerfile');
const SERVICES = ['communication', 'dispatch', 'provider-callback', 'feedback-link', 'reporting', 'provider-simulator'];

const log = (line) => process.stderr.write(`[build-pruned] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Dockerfile parsing

/** Logical instructions of a Dockerfile: comments dropped, `\` continuations joined. */
export function parseDockerfile(text) {
  const instructions = [];
  let pending = null;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === null)) return;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (pending === null) pending = { line: i + 1, text: body.trim() };
    else pending.text += ` ${body.trim()}`;
    if (!continued) {
      const match = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(pending.text);
      if (!match) throw new Error(`Dockerfile:${pending.line}: cannot parse "${pending.text}"`);
      instructions.push({ line: pending.line, keyword: match[1].toUpperCase(), args: match[2].trim() });
      pending = null;
    }
  });
  if (pending) throw new Error(`Dockerfile:${pending.line}: unterminated continuation`);
  return instructions;
}

/** Splits off leading `--flag[=value]` options. */
function takeFlags(args) {
  const flags = [];
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!m) return { flags, rest };
    flags.push({ name: m[1], value: m[2] ?? '' });
    rest = rest.slice(m[0].length);
  }
}

/** Words of an instruction, honouring double quotes (for ENV, LABEL, COPY). */
function words(text) {
  const out = [];
  let current = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (current !== null) out.push(current);
      current = null;
    } else if (c === '"') {
      current ??= '';
      for (i++; i < text.length && text[i] !== '"'; i++) current += text[i] === '\\' ? text[++i] : text[i];
    } else {
      current = (current ?? '') + c;
    }
  }
  if (current !== null) out.push(current);
  return out;
}

/** `K=V K2="v 2"` pairs (ENV, LABEL, ARG). */
function pairs(text, where) {
  return words(text).map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`${where}: expected KEY=value, got "${w}"`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Docker's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative}. */
export function expand(text, vars) {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_, braced, op, word, bare) => {
      const value = vars[braced ?? bare];
      if (op === '-') return value ? value : word;
      if (op === '+') return value ? word : '';
      return value ?? '';
    },
  );
}

/** The stages of a parsed Dockerfile, with the global ARGs (build args applied). */
export function stagesOf(instructions, buildArgs) {
  const globalArgs = {};
  const stages = [];
  for (const ins of instructions) {
    const where = `Dockerfile:${ins.line}`;
    if (ins.keyword === 'FROM') {
      const { flags, rest } = takeFlags(`${ins.args} `);
      if (flags.length > 0) throw new Error(`${where}: FROM flags are not supported`);
      const m = /^(\S+)(?:\s+AS\s+([a-z][a-z0-9_.-]*))?\s*$/i.exec(rest.trim());
      if (!m) throw new Error(`${where}: cannot parse FROM ${ins.args}`);
      const from = expand(m[1], globalArgs);
      stages.push({ index: stages.length, name: m[2] ?? `#${stages.length}`, from, line: ins.line, body: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`${where}: only ARG may come before the first FROM`);
      const [name, value] = splitArg(ins.args);
      globalArgs[name] = buildArgs[name] ?? value;
    } else {
      stages.at(-1).body.push(ins);
    }
  }
  const byName = new Map(stages.map((s) => [s.name, s]));
  for (const stage of stages) {
    const parent = byName.get(stage.from);
    stage.parent = parent && parent.index < stage.index ? parent : null;
    stage.image = stage.parent ? null : stage.from;
    // One entry per use of another stage: FROM it, and each source COPY'd --from it.
    stage.refs = stage.parent ? [stage.parent.name] : [];
    for (const ins of stage.body) {
      if (ins.keyword !== 'COPY') continue;
      const { flags, rest } = takeFlags(`${ins.args} `);
      const from = flags.find((f) => f.name === 'from');
      if (!from) continue;
      if (!byName.has(from.value)) throw new Error(`Dockerfile:${ins.line}: COPY --from=${from.value}: not a stage`);
      for (let i = 1; i < words(rest).length; i++) stage.refs.push(from.value);
    }
    stage.uses = new Set(stage.refs);
  }
  return { globalArgs, stages, byName };
}

function splitArg(text) {
  const eq = text.indexOf('=');
  if (/\s/.test(text.trim())) throw new Error(`ARG ${text}: one ARG per instruction`);
  return eq < 0 ? [text.trim(), undefined] : [text.slice(0, eq).trim(), text.slice(eq + 1).replace(/^"|"$/g, '')];
}

// ---------------------------------------------------------------------------------------------
// Build context (.dockerignore)

function dockerignore(contextDir) {
  const file = join(contextDir, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const patterns = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const regexes = patterns.map((p) => {
    if (p.startsWith('!')) throw new Error('.dockerignore: exceptions (!) are not supported by build-pruned.mjs');
    const clean = posix.normalize(p.replace(/^\/+/, '').replace(/\/+$/, ''));
    let re = '';
    for (let i = 0; i < clean.length; i++) {
      const c = clean[i];
      if (c === '*' && clean[i + 1] === '*') {
        re += clean[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += clean[i + 2] === '/' ? 2 : 1;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  });
  return (rel) => regexes.some((r) => r.test(rel));
}

/** Copies `rel` of the build context (a file or directory) to `dest`, leaving out ignored paths. */
function copyFromContext(contextDir, ignored, rel, dest) {
  const walk = (relPath, to) => {
    const from = join(contextDir, relPath);
    const st = lstatSync(from);
    if (st.isDirectory()) {
      mkdirSync(to, { recursive: true });
      for (const name of readdirSync(from)) {
        const child = relPath === '.' ? name : `${relPath}/${name}`;
        if (!ignored(child)) walk(child, join(to, name));
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
    } else {
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  };
  const clean = posix.normalize(rel);
  if (clean !== '.' && ignored(clean)) throw new Error(`COPY ${rel}: excluded by .dockerignore`);
  walk(clean, dest);
}

// ---------------------------------------------------------------------------------------------
// Running the stages

/** The node that stands in for the base images' (--node; default: the one running this script). */
let toolchainNode = process.execPath;

/** The host environment a RUN sees: only what a build container would have, plus the network setup. */
function hostEnv() {
  const keep = /^(PATH|HOME|TMPDIR|LANG|LC_ALL|SSL_CERT_FILE|SSL_CERT_DIR|NODE_EXTRA_CA_CERTS|(https?|no)_proxy)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => keep.test(k) && v !== undefined));
  env.PATH = [
    dirname(toolchainNode),
    ...(env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter((p) => !p.includes('node_modules')),
  ].join(':');
  return env;
}

/** RUN processes still running (each the leader of its own process group), and stage directories. */
const running = new Set();
const workDirs = new Set();

/** Ends every RUN still running (and what it started), e.g. when another stage failed. */
function stopRunning(signal = 'SIGTERM') {
  for (const child of running) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

function sh(command, cwd, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      running.delete(child);
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`exit ${code ?? signal}: ${command}`));
    });
  });
}

const nodeMajor = () =>
  toolchainNode === process.execPath
    ? process.versions.node.split('.')[0]
    : execFileSync(toolchainNode, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '').split('.')[0];

/** Checks that the host stands in for an external base image (its node major version). */
function checkBaseImage(image, where) {
  const m = /^(?:node:|.*\/nodejs)(\d+)\b/.exec(image);
  if (!m) throw new Error(`${where}: base image ${image}: unknown to build-pruned.mjs`);
  if (m[1] !== nodeMajor()) {
    throw new Error(
      `${where}: ${image} is Node ${m[1]}, this host runs Node ${nodeMajor()} (give a Node ${m[1]} binary with --node)`,
    );
  }
}

/** A RUN directly on an external image sets up its toolchain: check the host has the same one. */
function checkToolchainRun(command, where) {
  const npm = /^npm install (?:--global|-g) npm@(\S+)$/.exec(command.trim());
  if (npm) {
    const hostNpm = execFileSync('npm', ['--version'], { encoding: 'utf8', env: hostEnv() }).trim();
    if (hostNpm !== npm[1]) throw new Error(`${where}: the image gets npm ${npm[1]}, this host has npm ${hostNpm}`);
    return `checked: host npm ${hostNpm}`;
  }
  throw new Error(`${where}: RUN ${command}: toolchain setup unknown to build-pruned.mjs`);
}

const cpA = (from, to) => execFileSync('cp', ['-a', from, to]);

/**
 * Runs the Dockerfile for SERVICE=<service> and moves the final stage's WORKDIR to outDir.
 * Returns the summary printed by the CLI.
 */
export async function buildPruned({ service, outDir, cacheDir, node, keepWork = false, dockerfile = DOCKERFILE }) {
  const started = Date.now();
  toolchainNode = node ? resolve(node) : process.execPath;
  if (!SERVICES.includes(service)) throw new Error(`unknown service "${service}" (one of ${SERVICES.join(', ')})`);
  outDir = resolve(outDir);
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new Error(`${outDir} is not empty`);
  const buildArgs = { SERVICE: service }; // docker build --build-arg SERVICE=<service>
  const { stages, byName, globalArgs } = stagesOf(parseDockerfile(readFileSync(dockerfile, 'utf8')), buildArgs);
  const target = stages.at(-1);

  // The stages the target needs, and how many times each is used (its directory is moved, not
  // copied, on its last use).
  const needed = new Set();
  const visit = (stage) => {
    if (needed.has(stage.name)) return;
    needed.add(stage.name);
    for (const use of stage.uses) visit(byName.get(use));
  };
  visit(target);
  const usesLeft = new Map([...needed].map((n) => [n, 0]));
  for (const name of needed) for (const ref of byName.get(name).refs) usesLeft.set(ref, usesLeft.get(ref) + 1);

  const work = mkdtempSync(join(tmpdir(), `dlr-image-${service}-`));
  workDirs.add(work);
  const context = REPO_ROOT;
  const ignored = dockerignore(context);
  const baseEnv = hostEnv();
  if (cacheDir) {
    baseEnv.TURBO_CACHE_DIR = join(resolve(cacheDir), 'turbo');
    baseEnv.npm_config_prefer_offline = 'true';
  }
  const states = new Map();
  const stageOutput = new Map();
  const timings = [];

  /** Takes (moves on last use, else copies) `from` of a finished stage's directory to `to`. */
  const take = (stageName, from, to, { contents }) => {
    const last = usesLeft.get(stageName) === 1;
    usesLeft.set(stageName, usesLeft.get(stageName) - 1);
    const isDir = lstatSync(from).isDirectory();
    if (last && isDir && (!existsSync(to) || readdirSync(to).length === 0)) {
      if (existsSync(to)) rmSync(to, { recursive: true });
      mkdirSync(dirname(to), { recursive: true });
      renameSync(from, to);
    } else if (isDir && contents) {
      mkdirSync(to, { recursive: true });
      cpA(`${from}/.`, to);
    } else {
      mkdirSync(dirname(to), { recursive: true });
      cpA(from, to);
    }
  };

  const runStage = async (stage) => {
    const t0 = Date.now();
    const where = (ins) => `Dockerfile:${ins.line} (${stage.name})`;
    const root = join(work, `${stage.index}-${stage.name}`);
    let state;
    if (stage.parent) {
      const parent = states.get(stage.parent.name);
      take(stage.parent.name, parent.root, root, { contents: true });
      state = { ...parent, root, env: { ...parent.env }, labels: { ...parent.labels }, expose: [...parent.expose] };
      state.args = {};
    } else {
      checkBaseImage(stage.image, `Dockerfile:${stage.line}`);
      mkdirSync(root, { recursive: true });
      state = {
        root,
        image: stage.image,
        workdir: '/',
        env: {},
        args: {},
        labels: {},
        expose: [],
        user: null,
        cmd: null,
        entrypoint: null,
      };
    }
    const hostPath = (p) => join(root, posix.isAbsolute(p) ? p : posix.join(state.workdir, p));
    const vars = () => ({ ...state.args, ...state.env });
    let output = '';
    for (const ins of stage.body) {
      const w = where(ins);
      switch (ins.keyword) {
        case 'ARG': {
          const [name, value] = splitArg(ins.args);
          state.args[name] = buildArgs[name] ?? value ?? globalArgs[name] ?? '';
          break;
        }
        case 'ENV':
          for (const [k, v] of pairs(ins.args, w)) state.env[k] = expand(v, vars());
          break;
        case 'LABEL':
          for (const [k, v] of pairs(ins.args, w)) state.labels[k] = expand(v, vars());
          break;
        case 'WORKDIR':
          state.workdir = posix.resolve(state.workdir, expand(ins.args, vars()));
          mkdirSync(join(root, state.workdir), { recursive: true });
          break;
        case 'USER':
          state.user = expand(ins.args, vars());
          break;
        case 'EXPOSE':
          state.expose.push(...words(expand(ins.args, vars())));
          break;
        case 'CMD':
        case 'ENTRYPOINT': {
          if (!ins.args.startsWith('[')) throw new Error(`${w}: ${ins.keyword} must use the exec (JSON) form`);
          state[ins.keyword === 'CMD' ? 'cmd' : 'entrypoint'] = JSON.parse(ins.args);
          break;
        }
        case 'COPY': {
          const { flags, rest } = takeFlags(`${ins.args} `);
          for (const f of flags) {
            if (!['from', 'link', 'chown', 'chmod'].includes(f.name)) throw new Error(`${w}: COPY --${f.name}`);
          }
          if (rest.trim().startsWith('[')) throw new Error(`${w}: COPY's JSON form is not supported`);
          const parts = words(expand(rest, vars()));
          if (parts.length < 2) throw new Error(`${w}: COPY needs a source and a destination`);
          const dest = parts.pop();
          if (parts.length > 1 && !dest.endsWith('/')) throw new Error(`${w}: several sources need a dest ending in /`);
          const fromStage = flags.find((f) => f.name === 'from')?.value;
          for (const src of parts) {
            if (/[*?[]/.test(src)) throw new Error(`${w}: COPY wildcards are not supported`);
            const srcPath = fromStage ? join(states.get(fromStage).root, posix.resolve('/', src)) : src;
            const srcIsDir = fromStage ? lstatSync(srcPath).isDirectory() : lstatSync(join(context, src)).isDirectory();
            const to = srcIsDir || !dest.endsWith('/') ? hostPath(dest) : join(hostPath(dest), basename(src));
            if (fromStage) take(fromStage, srcPath, to, { contents: true });
            else copyFromContext(context, ignored, src, to);
          }
          break;
        }
        case 'RUN': {
          const { flags, rest } = takeFlags(`${ins.args} `);
          for (const f of flags) {
            if (f.name !== 'mount' || !f.value.startsWith('type=cache,')) throw new Error(`${w}: RUN --${f.name}`);
          }
          const command = rest.trim();
          if (!stage.parent) {
            log(`${stage.name}: RUN ${command} → ${checkToolchainRun(expand(command, vars()), w)}`);
            break;
          }
          // Every absolute path of the command is in the stage's filesystem.
          const mapped = command.replace(/(^|[\s='"])\/(?=[A-Za-z0-9_.-])/g, `$1${root}/`);
          const env = { ...baseEnv, ...state.args, ...state.env };
          log(`${stage.name}: RUN ${command}`);
          output += await sh(mapped, join(root, state.workdir), env);
          break;
        }
        default:
          throw new Error(`${w}: ${ins.keyword} is not supported by build-pruned.mjs`);
      }
    }
    state.args = {};
    states.set(stage.name, state);
    stageOutput.set(stage.name, output);
    const seconds = (Date.now() - t0) / 1000;
    timings.push({ name: stage.name, seconds });
    log(`${stage.name}: done in ${seconds.toFixed(1)} s`);
  };

  // Independent stages run concurrently, like BuildKit's.
  const done = new Map();
  const schedule = (name) => {
    if (!done.has(name)) {
      const stage = byName.get(name);
      done.set(
        name,
        Promise.all([...stage.uses].map(schedule)).then(() => runStage(stage)),
      );
    }
    return done.get(name);
  };
  try {
    await schedule(target.name);
    const final = states.get(target.name);
    // The image adds nothing outside its WORKDIR (what outDir receives).
    const added = [];
    const walk = (dir, rel) => {
      for (const name of readdirSync(dir)) {
        const r = `${rel}/${name}`;
        if (final.workdir === r) continue;
        if (final.workdir.startsWith(`${r}/`)) walk(join(dir, name), r);
        else added.push(r);
      }
    };
    walk(final.root, '');
    if (added.length > 0) throw new Error(`the image adds files outside its WORKDIR ${final.workdir}: ${added}`);
    if (existsSync(outDir)) rmSync(outDir, { recursive: true });
    mkdirSync(dirname(outDir), { recursive: true });
    try {
      renameSync(join(final.root, final.workdir), outDir);
    } catch {
      mkdirSync(outDir, { recursive: true });
      cpA(`${join(final.root, final.workdir)}/.`, outDir);
    }
    const lines = (prefix) =>
      [...stageOutput.values()]
        .join('')
        .split('\n')
        .filter((l) => l.startsWith(prefix))
        .map((l) => l.slice(prefix.length));
    return {
      service,
      outDir,
      target: target.from,
      baseImage: final.image,
      workdir: final.workdir,
      env: final.env,
      user: final.user,
      cmd: final.cmd,
      entrypoint: final.entrypoint,
      expose: final.expose,
      labels: final.labels,
      paths: lines('assemble: '),
      fixPrune: lines('fix-prune: '),
      stages: timings,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    // A failed stage: end the ones still running before their directories go.
    stopRunning();
    await Promise.allSettled([...done.values()]);
    throw error;
  } finally {
    workDirs.delete(work);
    if (keepWork) log(`stages kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const [, value] = args.splice(i, 2);
    if (value === undefined) throw new Error(`${name} needs a value`);
    return value;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      stopRunning('SIGKILL');
      for (const dir of workDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      process.exit(1);
    });
  }
  try {
    const cacheDir = option('--cache-dir');
    const node = option('--node');
    const keepWork = args.includes('--keep-work');
    const positional = args.filter((a) => a !== '--keep-work');
    if (positional.length !== 2 || positional.some((a) => a.startsWith('--'))) {
      throw new Error('usage: build-pruned.mjs <service> <outDir> [--cache-dir <dir>] [--node <path>] [--keep-work]');
    }
    const [service, outDir] = positional;
    const summary = await buildPruned({
      service,
      outDir,
      cacheDir,
      node,
      keepWork,
    });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } catch (error) {
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
