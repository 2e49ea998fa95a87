// One lint configuration for the whole monorepo; every package runs `eslint .` against it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/src/gen/**',
      '**/.turbo/**',
      '**/*.config.*',
      'vitest.shared.ts',
      // Linted by tools/boundaries' test, as the tree they stand for.
      'tools/boundaries/test/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^@dlr\\/[^/]+\\/src/]',
          message: 'Import a package by its public entry point, not its src/.',
        },
      ],
    },
  },
  {
    // Domain code is pure logic: it reaches the world through ports, never through an adapter or an I/O client.
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)adapters(/|$)',
              message: 'domain/ imports no adapter: declare a port in domain/ and let an adapter implement it.',
            },
            { group: ['mongodb', 'mongodb/*'], message: 'domain/ does no I/O: MongoDB belongs in adapters/mongo.' },
            { group: ['@nats-io/*'], message: 'domain/ does no I/O: NATS belongs in adapters/nats.' },
            {
              group: ['fastify', 'fastify/*', '@fastify/*'],
              message: 'domain/ does no I/O: HTTP belongs in adapters/http.',
            },
            { group: ['@grpc/*'], message: 'domain/ does no I/O: gRPC belongs in adapters/grpc.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
