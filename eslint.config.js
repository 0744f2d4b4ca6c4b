// Lint rules that matter here: no floating promises (a lost rejection is a
// lost start), and the layers keep their direction (the domain pure, BullMQ
// behind src/jobs) — checked by the tool, not by hope.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', 'drizzle', 'var', 'bench/results', 'test-artifacts', 'dist', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The house's size rules (issue 20): a file read at once, a function read as its steps.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/infra/**', '**/infra', '**/jobs/**', '**/jobs', '**/http/**', '**/http'],
              message: 'src/domain is pure: it may not import from src/infra, src/jobs or src/http.',
            },
            {
              group: [
                'dockerode',
                'ioredis',
                'bullmq',
                'hono',
                'hono/*',
                '@hono/*',
                'postgres',
                'drizzle-orm',
                'drizzle-orm/*',
                'pino',
                'node:fs',
                'node:fs/*',
                'fs',
              ],
              message: 'src/domain talks to the world only through its ports.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain ESM that node runs on the compiled build (test/support/crash-worker.mjs):
    // outside the TypeScript project, so the type-aware rules have nothing to read.
    files: ['**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The HTTP layer reads jobs through src/jobs (job-status.ts): BullMQ stays behind it.
    files: ['src/http/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['bullmq', 'bullmq/*'], message: 'src/http reads and enqueues jobs through src/jobs, never through bullmq.' }] },
      ],
    },
  },
  {
    // Jobs run without a web server: nothing in src/jobs may depend on the HTTP layer.
    files: ['src/jobs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/http/**', '**/http'], message: 'src/jobs may not import from src/http.' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
