import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports no file may make (a later block that sets no-restricted-imports replaces these, so it repeats them). */
const restrictedImports = [
  {
    group: ['@kitsu-actions/*/src/*', '@kitsu-actions/*/src'],
    message: "Import the package's public entry.",
  },
  { group: ['**/apps/*', '../../apps/*'], message: 'Packages never import apps.' },
];

// What the apps run never loads the fakes: only tests (*.test.ts, apps/*/test/) import packages/testing.
const noTestSupport = {
  paths: [
    {
      name: '@kitsu-actions/testing',
      message: "Test support (fakes, test Redis) is for tests: import it from *.test.ts or the app's test/.",
    },
  ],
  patterns: [{ group: ['**/packages/testing/**'], message: 'Test support is for tests only.' }],
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.venv/**',
      '.data/**',
      'reports/**',
      '.stryker-tmp/**',
      'packages/testing/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: restrictedImports }],
    },
  },
  {
    // What the apps run never loads the fakes: only tests (*.test.ts, apps/*/test/) import packages/testing.
    files: ['apps/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: noTestSupport.paths, patterns: [...restrictedImports, ...noTestSupport.patterns] },
      ],
    },
  },
  {
    // Each route stands alone: what routes share (identity, negotiation, pages) lives outside routes/.
    files: ['apps/receiver/src/routes/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noTestSupport.paths,
          patterns: [
            ...restrictedImports,
            ...noTestSupport.patterns,
            {
              regex: '^\\./|(^|/)routes/',
              message: 'A route never imports another route; move what they share out of routes/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Command-line entry points talk to a person on a terminal.
    files: ['scripts/**/*.ts', '**/cli.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // bench/ is a root-level tool that drives the apps themselves, not a package.
    files: ['bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
