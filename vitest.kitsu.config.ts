import { defineConfig } from 'vitest/config';

// `pnpm test:kitsu`: the suites that need the real Zou (a Python venv, PostgreSQL, nginx). The
// default `pnpm test` leaves them out: see vitest.config.ts.
export default defineConfig({
  test: {
    include: ['apps/*/src/**/*.kitsu.test.ts', 'packages/*/src/**/*.kitsu.test.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts', 'packages/testing/src/real-zou/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest-kitsu.json' },
  },
});
