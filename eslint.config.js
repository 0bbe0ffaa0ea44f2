// Lint rules, plus the layering rule from DESIGN.md: folders are layers and an import only
// points down (engine → io → nn → models → data → results → unlearn/eval/attacks → report → pipeline → cli).
// Typed rules (no-floating-promises) read the TypeScript project, so an unawaited promise, such
// as a read-back whose check never runs, is an error.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const layers = ['engine', 'io', 'nn', 'models', 'data', 'results', 'unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'];
// What each layer may NOT import (everything above it; unlearn/eval/attacks are siblings that
// may use data and results, and attacks may use unlearn and eval).
const forbidden = {
  engine: ['io', 'nn', 'models', 'data', 'results', 'unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'],
  // io: the file-system layer (paths, atomic writes, run folders) uses only the engine's errors.
  io: ['nn', 'models', 'data', 'results', 'unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'],
  nn: ['models', 'data', 'results', 'unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'],
  models: ['data', 'results', 'unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'],
  data: ['results', 'unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'],
  results: ['unlearn', 'eval', 'attacks', 'report', 'pipeline', 'cli'],
  unlearn: ['eval', 'attacks', 'report', 'pipeline', 'cli'],
  eval: ['unlearn', 'attacks', 'report', 'pipeline', 'cli'],
  attacks: ['report', 'pipeline', 'cli'],
  report: ['pipeline', 'cli'],
  pipeline: ['cli'],
  cli: [],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**', 'scratch/**', 'examples/**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  ...layers.map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: forbidden[layer].map((up) => ({
          group: [`**/${up}/*`, `../${up}`, `../../${up}`],
          message: `src/${layer} is below src/${up}: imports only point down the layers.`,
        })),
      }],
    },
  })),
);
