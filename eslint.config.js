// Lint rules: typescript-eslint's recommended set, with `any` forbidden in our code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': ['error'],
    },
  },
  {
    // Durations and deadlines run on CLOCK_MONOTONIC (src/timers.ts monotonicMs): hosts step their wall clocks.
    files: ['src/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'For how long or since when, use monotonicMs() (src/timers.ts); for a date, new Date().' },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['console', 'process', 'Buffer', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'URL'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['src/cli/**', 'src/sinks/console.ts', 'scripts/**', 'test/**', 'analysis/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
