import { defineConfig } from 'vitest/config';

// TEST_SEED=N runs the files and tests in the random order of seed N (CI sets one for each run and prints
// it): a test that passes only after another fails there, and `TEST_SEED=N pnpm test` runs that order again.
const seed = process.env.TEST_SEED === undefined ? undefined : Number(process.env.TEST_SEED);
if (seed !== undefined && !Number.isSafeInteger(seed))
  throw new Error(`TEST_SEED must be an integer, not ${process.env.TEST_SEED}`);

export default defineConfig({
  test: {
    include: ['apps/*/src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
    // The real-Zou suites run with `pnpm test:kitsu` (vitest.kitsu.config.ts).
    exclude: ['**/node_modules/**', '**/*.kitsu.test.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    ...(seed === undefined ? {} : { sequence: { shuffle: true, seed } }),
    // CI reads the JSON report to print its "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
  },
});
