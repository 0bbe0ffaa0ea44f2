// Lint rules, plus the layering rule from DESIGN.md: folders are layers and an import only
// points down (engine → io → nn → models → data/unlearn/eval/attacks → report/cli).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const layers = ['engine', 'io', 'nn', 'models', 'data', 'unlearn', 'eval', 'attacks', 'report', 'cli'];
// What each layer may NOT import (everything above it; data/unlearn/eval/attacks are siblings
// that may use data, and attacks may use unlearn and eval).
const forbidden = {
  engine: ['io', 'nn', 'models', 'data', 'unlearn', 'eval', 'attacks', 'report', 'cli'],
  // io: the file-system layer (paths, atomic writes, run folders) uses only the engine's errors.
  io: ['nn', 'models', 'data', 'unlearn', 'eval', 'attacks', 'report', 'cli'],
  nn: ['models', 'data', 'unlearn', 'eval', 'attacks', 'report', 'cli'],
  models: ['data', 'unlearn', 'eval', 'attacks', 'report', 'cli'],
  data: ['unlearn', 'eval', 'attacks', 'report', 'cli'],
  unlearn: ['eval', 'attacks', 'report', 'cli'],
  eval: ['unlearn', 'attacks', 'report', 'cli'],
  attacks: ['report', 'cli'],
  report: ['cli'],
  cli: [],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
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
