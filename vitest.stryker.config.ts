import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

// Stryker (stryker.config.mjs) runs the suite in a copy of the repo whose node_modules are links to the
// repo's own: there, @kitsu-actions/* would lead back to the unmutated packages. Resolve them in the copy.
const root = path.dirname(fileURLToPath(import.meta.url));

const config: typeof base = mergeConfig(
  base,
  defineConfig({
    resolve: {
      alias: Object.fromEntries(
        ['shared', 'testing', 'zou'].map((name) => [
          `@kitsu-actions/${name}`,
          path.join(root, 'packages', name, 'src/index.ts'),
        ]),
      ),
    },
  }),
);

// `pnpm mutation -- --tests a.test.ts,b.test.ts …` (MUTATION_TESTS): only those test files judge the
// mutants. A score measured so is a lower bound of the whole suite's, in a fraction of the time.
const only = process.env.MUTATION_TESTS?.split(',').filter((glob) => glob !== '');
if (only !== undefined && only.length > 0) config.test = { ...(config.test ?? {}), include: only };

export default config;
