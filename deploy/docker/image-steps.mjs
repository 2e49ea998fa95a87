#!/usr/bin/env node
// The steps of deploy/docker/Dockerfile that are more than one command. The Dockerfile runs them as
// `node /opt/dlr/image-steps.mjs <step> ...`, and build-pruned.mjs runs that same Dockerfile on the
// host, so what goes into an image is decided here and only here.
//
//   fix-prune <outDir>                  after `turbo prune --docker --production`
//   assemble <buildDir> <depsDir> <appDir>  the /app tree of the runtime image
//
// Plain Node (no dependencies): it runs in the build stages, before any `npm ci`.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/** The workspace directories of a pruned monorepo, as listed (explicitly) by its root package.json. */
export function prunedWorkspaces(rootDir) {
  const { workspaces } = readJson(join(rootDir, 'package.json'));
  if (!Array.isArray(workspaces) || workspaces.length === 0) throw new Error(`${rootDir}: no workspaces`);
  for (const ws of workspaces) {
    if (/[*?[\]{}!]/.test(ws))
      throw new Error(`${rootDir}: workspace "${ws}" is a pattern; expected turbo's pruned list`);
  }
  return workspaces;
}

/**
 * `turbo prune --production` leaves out the workspace packages that are only devDependencies (e.g.
 * @dlr/testing) but keeps them in the package.json files and in the lockfile's workspace entries,
 * so `npm ci` would look for them on the registry. Drops exactly the devDependencies that the
 * pruned lockfile cannot satisfy, in out/json, out/full and both lockfiles. Returns what it dropped.
 */
export function fixPrune(outDir) {
  const lockFiles = [join(outDir, 'package-lock.json'), join(outDir, 'json', 'package-lock.json')].filter((f) =>
    existsSync(f),
  );
  if (lockFiles.length === 0) throw new Error(`${outDir}: no package-lock.json (was it pruned with --docker?)`);
  const locked = new Set(Object.keys(readJson(lockFiles[0]).packages ?? {}));
  const satisfiable = (ws, name) => locked.has(`${ws}/node_modules/${name}`) || locked.has(`node_modules/${name}`);
  const dropped = [];
  const prune = (ws, manifest) => {
    const dev = manifest.devDependencies;
    if (!dev) return false;
    let changed = false;
    for (const name of Object.keys(dev)) {
      if (satisfiable(ws, name)) continue;
      delete dev[name];
      changed = true;
      if (!dropped.some((d) => d.workspace === ws && d.name === name)) dropped.push({ workspace: ws, name });
    }
    if (changed && Object.keys(dev).length === 0) delete manifest.devDependencies;
    return changed;
  };
  for (const ws of prunedWorkspaces(join(outDir, 'json'))) {
    for (const tree of ['json', 'full']) {
      const file = join(outDir, tree, ws, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = readJson(file);
      if (prune(ws, manifest)) writeJson(file, manifest);
    }
    for (const lockFile of lockFiles) {
      const lock = readJson(lockFile);
      const entry = lock.packages?.[ws];
      if (entry && prune(ws, entry)) writeJson(lockFile, lock);
    }
  }
  for (const { workspace, name } of dropped) {
    console.log(`fix-prune: ${workspace}: dropped devDependency ${name} (left out by --production)`);
  }
  return dropped;
}

/** Files of a build output that are not needed to run it: type declarations and their maps. */
const notForRuntime = (file) => /\.d\.[cm]?ts(\.map)?$/.test(file);

/**
 * Assembles the runtime tree: the production node_modules (npm ci --omit=dev) and, for every
 * pruned workspace package, its package.json, its built dist/ (without type declarations) and its
 * own node_modules if npm nested any there. Symlinks (node_modules/@dlr/* → ../../packages/*) are
 * copied as symlinks. Returns the copied paths, relative to appDir.
 */
export function assemble(buildDir, depsDir, appDir) {
  if (existsSync(appDir) && readdirSync(appDir).length > 0) throw new Error(`${appDir} is not empty`);
  mkdirSync(appDir, { recursive: true });
  const copied = [];
  const copy = (from, rel, filter) => {
    cpSync(join(from, rel), join(appDir, rel), {
      recursive: true,
      verbatimSymlinks: true,
      ...(filter ? { filter } : {}),
    });
    copied.push(rel);
  };
  copy(depsDir, 'node_modules');
  for (const ws of prunedWorkspaces(depsDir)) {
    const dist = join(buildDir, ws, 'dist');
    if (!existsSync(dist) || !statSync(dist).isDirectory()) throw new Error(`${ws} was not built: no ${dist}`);
    copy(buildDir, `${ws}/package.json`);
    copy(buildDir, `${ws}/dist`, (src) => !notForRuntime(src));
    if (existsSync(join(depsDir, ws, 'node_modules'))) copy(depsDir, `${ws}/node_modules`);
  }
  for (const rel of copied) console.log(`assemble: ${rel}`);
  return copied;
}

const usage = 'usage: image-steps.mjs fix-prune <outDir> | assemble <buildDir> <depsDir> <appDir>';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [step, ...args] = process.argv.slice(2);
  try {
    if (step === 'fix-prune' && args.length === 1) fixPrune(args[0]);
    else if (step === 'assemble' && args.length === 3) assemble(args[0], args[1], args[2]);
    else throw new Error(usage);
  } catch (error) {
    console.error(`image-steps: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
