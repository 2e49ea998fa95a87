// The import-circle check of `npm run lint` and of this package's test: madge over the TypeScript
// tree, following relative imports (`./x.js` resolves to `./x.ts`); packages are acyclic by workspace.
import { resolve } from 'node:path';
import madge from 'madge';

/** Repository root. */
export const root = resolve(import.meta.dirname, '../..');

/** The folders whose TypeScript files are checked, relative to the root. */
export const TREE = ['services', 'packages', 'tools', 'e2e', 'bench', 'scripts'];

/** The import circles among the TypeScript files under `paths` (each circle as its file list). */
export async function importCircles(
  paths: readonly string[],
  options: { withFixtures?: boolean } = {},
): Promise<string[][]> {
  const exclude = [/node_modules/, /\/gen\//];
  // The fixtures hold a circle on purpose; the repository check leaves them out.
  if (!options.withFixtures) exclude.push(/tools\/boundaries\/test\/fixtures\//);
  const result = await madge(
    paths.map((p) => resolve(root, p)),
    {
      baseDir: root,
      fileExtensions: ['ts', 'mts'],
      tsConfig: resolve(root, 'tsconfig.base.json'),
      excludeRegExp: exclude,
    },
  );
  return result.circular();
}

// `node --import tsx tools/boundaries/circles.ts`: the lint step; exits 1 listing every circle.
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const circles = await importCircles(TREE);
  if (circles.length > 0) {
    for (const circle of circles) console.error(`import circle: ${circle.join(' → ')} → ${circle[0]}`);
    process.exit(1);
  }
  console.log(`import circles: none in ${TREE.join(', ')}`);
}
