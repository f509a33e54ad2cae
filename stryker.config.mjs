// Mutation testing of the code that guards trust and exactly-once (`pnpm mutation`, scripts/mutation.ts).
// Not part of CI: a full run takes far longer than the suite.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'apps/receiver/src/identity.ts',
    'apps/receiver/src/caller.ts',
    'apps/receiver/src/authorization.ts',
    'apps/receiver/src/routes/actions.ts',
    'apps/receiver/src/routes/jobs.ts',
    'packages/shared/src/kitsu-request.ts',
    'packages/shared/src/queues.ts',
    'apps/worker/src/processor.ts',
    'apps/worker/src/render/run.ts',
  ],
  testRunner: 'vitest',
  // Stryker looks for plugins beside its own package, which pnpm keeps apart: name the runner's path.
  plugins: [import.meta.resolve('@stryker-mutator/vitest-runner')],
  // The repo's config (its globalSetup starts Redis), with the workspace packages resolved in the sandbox.
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  // Each mutant runs only the tests that reached it in the dry run.
  coverageAnalysis: 'perTest',
  // A second run re-tests only mutants whose code or covering tests changed; runs of one file
  // (--mutate) keep the other files' results.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'json', 'html', 'progress-append-only'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, allowEmojis: false, logTests: false, reportTests: false },
  // Mutants run in copies of the repo under .stryker-tmp, so the work tree stays as it is meanwhile.
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['/.data', '/.venv', '/dist', '/coverage', '/bench/profiles', '/bench/results.json'],
  // A mutant reached only while a module loads (a schema, a constant) would rerun every test that
  // imports the shared package; such mutants are reported as Ignored.
  ignoreStatic: true,
  // The machine is shared: two test runners at most, each with its own Redis.
  concurrency: 2,
  // Tests against real Redis and real HTTP vary in time; a mutant that hangs still ends.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  // The first run, all tests that import the file (for packages/shared most of the suite), in one thread.
  dryRunTimeoutMinutes: 30,
  cleanTempDir: 'always',
};
