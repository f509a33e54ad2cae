/**
 * `pnpm build`: bundles each app's entry points, with the workspace packages they import (TypeScript
 * sources), into apps/<app>/dist/*.js; third-party packages stay imports, resolved from node_modules.
 *
 * `pnpm build --deploy <dir>`: then puts each app in <dir>/<app> with its production dependencies only
 * (`pnpm deploy --prod`): package.json, dist/ and node_modules. This is what the Docker image runs: plain
 * JavaScript on Node, no TypeScript sources, no tsx, no dev tools.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The apps the image runs: dist/<name>.js for each entry point. */
const apps = {
  receiver: {
    package: '@kitsu-actions/receiver',
    entries: { main: 'src/main.ts', 'kitsu-actions': 'src/cli/main.ts' },
  },
  worker: { package: '@kitsu-actions/worker', entries: { main: 'src/main.ts' } },
};

/** Workspace packages are bundled (Node does not run their TypeScript); every other bare import is kept. */
const thirdPartyExternal: Plugin = {
  name: 'third-party-external',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@kitsu-actions/') ? undefined : { path: args.path, external: true },
    );
  },
};

async function bundle(name: string, entries: Record<string, string>): Promise<void> {
  const dir = path.join(root, 'apps', name);
  const outdir = path.join(dir, 'dist');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: Object.entries(entries).map(([out, entry]) => ({ in: path.join(dir, entry), out })),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [thirdPartyExternal],
    // Class names survive bundling: error types in the logs (pino's `type`) read as in the sources.
    keepNames: true,
    // Stack traces name the TypeScript file and line (the image runs node --enable-source-maps).
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
  for (const file of readdirSync(outdir).filter((entry) => entry.endsWith('.js'))) {
    const kb = Math.round(statSync(path.join(outdir, file)).size / 1024);
    console.log(`built apps/${name}/dist/${file} (${kb} KB)`);
  }
}

function deploy(name: string, pkg: string, target: string): void {
  const out = path.join(target, name);
  const result = spawnSync(
    'pnpm',
    [
      // pnpm 10 deploys from the workspace lockfile (the versions tested) only with injected workspace
      // packages; set for this command alone, the workspace's own install is unchanged.
      '--config.inject-workspace-packages=true',
      // A flat node_modules: the bundle imports its workspace packages' dependencies (pino, yaml) too,
      // which pnpm's default layout hides from the app's own directory.
      '--config.node-linker=hoisted',
      `--filter=${pkg}`,
      'deploy',
      '--prod',
      // From the store the install filled: nothing is resolved or downloaded again.
      '--offline',
      out,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) {
    throw new Error(
      `pnpm deploy of ${pkg} into ${out} failed (${result.error?.message ?? `exit ${String(result.status)}`})`,
    );
  }
  // The workspace packages are inside the bundle: their TypeScript copies are never loaded.
  rmSync(path.join(out, 'node_modules', '@kitsu-actions'), { recursive: true, force: true });
  console.log(`deployed ${pkg} into ${out}`);
}

const { values } = parseArgs({ options: { deploy: { type: 'string' } } });
for (const [name, app] of Object.entries(apps)) await bundle(name, app.entries);
if (values.deploy !== undefined) {
  const target = path.resolve(values.deploy);
  for (const [name, app] of Object.entries(apps)) {
    rmSync(path.join(target, name), { recursive: true, force: true });
    deploy(name, app.package, target);
  }
}
