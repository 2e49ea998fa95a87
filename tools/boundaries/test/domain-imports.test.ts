// The domain rule of eslint.config.js, run as CI runs it (the whole configuration, type-aware), on a fixture
// service: a domain file that imports an adapter or an I/O client fails; a pure one and an adapter pass.
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const fixtures = join(import.meta.dirname, 'fixtures');
const demo = (file: string) => join(fixtures, 'services/demo/src', file);

let results: Map<string, ESLint.LintResult>;

beforeAll(async () => {
  // The repository's configuration with the fixtures as the tree it applies to, so that its
  // `services/*/src/domain/**` pattern matches the fixture service as it matches ours.
  const eslint = new ESLint({ cwd: fixtures, overrideConfigFile: join(root, 'eslint.config.js') });
  const linted = await eslint.lintFiles([demo('**/*.ts')]);
  results = new Map(linted.map((r) => [r.filePath, r]));
});

/** The boundary errors of one fixture file, and every other problem in it. */
function problems(file: string): { boundary: string[]; other: string[] } {
  const result = results.get(demo(file));
  if (!result) throw new Error(`${file} was not linted`);
  const messages = result.messages.map((m) => ({ rule: m.ruleId, text: m.message }));
  return {
    boundary: messages.filter((m) => m.rule === 'no-restricted-imports').map((m) => m.text),
    other: messages.filter((m) => m.rule !== 'no-restricted-imports').map((m) => `${m.rule}: ${m.text}`),
  };
}

describe('domain/ imports', () => {
  it('fails a domain file that imports an adapter', () => {
    expect(problems('domain/imports-adapter.ts')).toEqual({
      boundary: [expect.stringContaining('domain/ imports no adapter')],
      other: [],
    });
  });

  it.each([
    ['imports-mongodb.ts', 'MongoDB'],
    ['imports-nats.ts', 'NATS'],
    ['imports-fastify.ts', 'HTTP'],
    ['imports-grpc.ts', 'gRPC'],
  ])('fails %s (%s is I/O)', (file, what) => {
    expect(problems(`domain/${file}`)).toEqual({
      boundary: [expect.stringContaining(`${what} belongs in adapters/`)],
      other: [],
    });
  });

  it('passes a domain file that uses its ports and @dlr/core', () => {
    expect(problems('domain/pure.ts')).toEqual({ boundary: [], other: [] });
    expect(problems('domain/ports.ts')).toEqual({ boundary: [], other: [] });
  });

  it('leaves adapters free to use their clients', () => {
    expect(problems('adapters/mongo/store.ts')).toEqual({ boundary: [], other: [] });
  });
});
