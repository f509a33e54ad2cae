/**
 * The runtime image, put together on this host without a Docker engine: the Dockerfile's build step
 * (`pnpm build --deploy /prod`, into a temporary directory), its runtime stage's COPY lines replayed into
 * <tmp>/app (the stage's WORKDIR), then the image's command and docker-compose.yml's worker command run
 * from there, with only the environment a container would have.
 */
import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import {
  dockerCopy,
  dockerEnv,
  freePort,
  kitsuFixture,
  parseDockerfile,
  replay,
  repoRoot,
  spawnProcess,
  type DockerStage,
  type ServiceProcess,
} from '@kitsu-actions/testing';

const stages = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const stage = (name: string): DockerStage => {
  const found = stages.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage named ${name}`);
  return found;
};
const buildStage = stage('build');
const runtimeStage = stage('runtime');
const workdir = (of: DockerStage): string =>
  of.instructions.filter((instruction) => instruction.keyword === 'WORKDIR').at(-1)?.args ?? '/';

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { command?: string[] }>;
};

/** Every package under a node_modules, nested ones too (`@scope/name` for scoped packages). */
function installedPackages(modules: string): string[] {
  if (!existsSync(modules)) return [];
  const names: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@');
    for (const name of scoped
      ? readdirSync(path.join(modules, entry)).map((inner) => `${entry}/${inner}`)
      : [entry]) {
      names.push(name, ...installedPackages(path.join(modules, name, 'node_modules')));
    }
  }
  return names;
}

/** Packages only the workspace's development needs: every devDependency no workspace package depends on. */
function devOnlyPackages(): Set<string> {
  const manifests = [
    'package.json',
    ...['apps', 'packages'].flatMap((dir) =>
      readdirSync(path.join(repoRoot, dir)).map((name) => path.join(dir, name, 'package.json')),
    ),
  ].map((file) => ({
    file,
    ...(JSON.parse(readFileSync(path.join(repoRoot, file), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    }),
  }));
  // packages/testing is itself a devDependency of the apps: its own dependencies are development ones.
  const testing = (file: string): boolean => file.startsWith('packages/testing/');
  const runtime = new Set(
    manifests
      .filter(({ file }) => !testing(file))
      .flatMap(({ dependencies }) => Object.keys(dependencies ?? {})),
  );
  return new Set(
    manifests
      .flatMap(({ file, dependencies, devDependencies }) => [
        ...Object.keys(devDependencies ?? {}),
        ...(testing(file) ? Object.keys(dependencies ?? {}) : []),
      ])
      // Type packages are left out: runtime dependencies list some as their own (koa-body: @types/koa).
      .filter((name) => !runtime.has(name) && !name.startsWith('@types/')),
  );
}

let root = '';
/** The runtime stage's WORKDIR (/app) on this host. */
let app = '';
let redisUrl = '';
const processes: ServiceProcess[] = [];

/** Where a path of the build stage is here: its WORKDIR is this repository (`COPY . .`); others under <tmp>/build. */
function fromBuild(file: string): string {
  const base = workdir(buildStage);
  if (file === base || file.startsWith(`${base}/`)) return path.join(repoRoot, path.relative(base, file));
  return path.join(root, 'build', file);
}

/** A process as the container runs it: from the runtime WORKDIR, with the image's ENV and `env` alone. */
function run(command: string[], env: Record<string, string>): ServiceProcess {
  const [program = '', ...args] = command;
  const started = spawnProcess(program === 'node' ? process.execPath : program, args, {
    cwd: app,
    env: { PATH: process.env['PATH'] ?? '', ...dockerEnv(runtimeStage), ...env },
  });
  processes.push(started);
  return started;
}

beforeAll(async () => {
  redisUrl = inject('redisUrl');
  root = mkdtempSync(path.join(tmpdir(), 'kitsu-actions-image-'));
  const step = buildStage.instructions.find(
    (instruction) => instruction.keyword === 'RUN' && instruction.args.startsWith('pnpm build'),
  );
  if (step === undefined) throw new Error('the build stage runs no `pnpm build`');
  const [command = '', ...args] = step.args
    .split(/\s+/)
    .map((word) => (word.startsWith('/') ? fromBuild(word) : word));
  // The developer's own environment: pnpm finds its store and configuration as it does in a shell.
  const env = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const built = spawnProcess(command, args, { cwd: repoRoot, env });
  expect(await built.exited, built.output()).toBe(0);

  app = path.join(root, 'image', workdir(runtimeStage));
  for (const instruction of runtimeStage.instructions.filter((candidate) => candidate.keyword === 'COPY')) {
    const copy = dockerCopy(instruction);
    expect(copy.flags['from'], `line ${String(instruction.line)}`).toBe('build');
    for (const source of copy.sources) {
      const target = copy.dest.endsWith('/')
        ? path.join(app, copy.dest, path.basename(source))
        : path.join(app, copy.dest);
      const from = fromBuild(source);
      // What the build step made here is moved (the same as a copy, and instant); the repository's files are copied.
      if (from.startsWith(`${root}/`)) {
        mkdirSync(path.dirname(target), { recursive: true });
        renameSync(from, target);
      } else cpSync(from, target, { recursive: true });
    }
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((started) => started.stop('SIGKILL')));
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

describe('the runtime image, built on this host', () => {
  it('holds each app as package.json, dist/ (JavaScript) and its production dependencies only', () => {
    const devOnly = devOnlyPackages();
    expect([...devOnly]).toEqual(
      expect.arrayContaining(['vitest', 'tsx', 'typescript', 'esbuild', 'testcontainers']),
    );
    expect(readdirSync(app).sort()).toEqual(['actions.example.yaml', 'receiver', 'worker']);
    for (const name of ['receiver', 'worker']) {
      const dir = path.join(app, name);
      expect(readdirSync(dir).sort(), name).toEqual([
        'dist',
        'node_modules',
        'package.json',
        'pnpm-lock.yaml',
      ]);
      expect(
        readdirSync(path.join(dir, 'dist')).filter((file) => !/\.js(\.map)?$/.test(file)),
        name,
      ).toEqual([]);
      const packages = installedPackages(path.join(dir, 'node_modules'));
      expect(packages, name).toEqual(expect.arrayContaining(['bullmq', 'ioredis', 'pino', 'yaml', 'zod']));
      for (const tool of ['vitest', 'tsx', 'typescript', 'esbuild'])
        expect(packages, name).not.toContain(tool);
      expect(
        packages.filter((pkg) => devOnly.has(pkg)),
        name,
      ).toEqual([]);
      // The workspace packages are in the bundles, not in node_modules (no TypeScript at all).
      expect(
        packages.filter((pkg) => pkg.startsWith('@kitsu-actions/')),
        name,
      ).toEqual([]);
    }
    expect(installedPackages(path.join(app, 'receiver', 'node_modules'))).toContain('koa');
  });

  it("the image's command starts the receiver from dist/: /healthz and /readyz answer, SIGTERM stops it", async () => {
    const cmd = runtimeStage.instructions.filter((instruction) => instruction.keyword === 'CMD').at(-1)?.exec;
    expect(cmd?.[0]).toBe('node');
    const port = await freePort();
    const receiver = run(cmd ?? [], {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `{image-${randomUUID().slice(0, 8)}}`,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    await receiver.waitFor(/"msg":"receiver listening"/, 30_000);
    // No ACTIONS_FILE and no ./actions.yaml: the shipped example next to the deployments.
    expect(receiver.output()).toContain(
      `"file":"${path.join(app, 'actions.example.yaml')}","actions":["debug"`,
    );
    const base = `http://127.0.0.1:${String(port)}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await receiver.waitFor(/"msg":"redis ready"/);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ redis: 'ok' });
    expect(await receiver.stop('SIGTERM')).toBe(0);
    expect(receiver.output()).toContain('"msg":"receiver stopped"');
  });

  it("docker-compose.yml's worker command runs the worker bundle: it takes a job from the receiver, and stops on SIGTERM", async () => {
    const command = compose.services['worker']?.command ?? [];
    expect(command[0]).toBe('node');
    const cmd =
      runtimeStage.instructions.filter((instruction) => instruction.keyword === 'CMD').at(-1)?.exec ?? [];
    const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: `{image-${randomUUID().slice(0, 8)}}` };
    const port = await freePort();
    const receiver = run(cmd, { ...env, PORT: String(port), HOST: '127.0.0.1' });
    const worker = run(command, env);
    await Promise.all([
      // Ready for jobs: Redis answers the receiver (until then it answers 503, by design).
      receiver.waitFor(/"msg":"redis ready"/, 30_000),
      worker.waitFor(/"msg":"workers ready"/, 30_000),
    ]);

    const base = `http://127.0.0.1:${String(port)}`;
    const sent = await replay(base, kitsuFixture('doc-example-json'));
    expect(sent.status).toBe(202);
    const { jobId } = (await sent.json()) as { jobId: string };
    // The worker logs each job it ends: wait for that line, then read the job's status.
    await worker.waitFor(new RegExp(`"jobId":"${jobId}".*"msg":"job completed"`), 30_000);
    const view = (await (
      await fetch(`${base}/jobs/${jobId}`, { headers: { Accept: 'application/json' } })
    ).json()) as {
      state: string;
    };
    expect(view.state).toBe('completed');

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toContain('"msg":"worker stopped"');
    expect(await receiver.stop('SIGTERM')).toBe(0);
  });

  it('the CLI bundle runs (its usage, exit 64 without a command)', async () => {
    const cli = run(['node', 'receiver/dist/kitsu-actions.js'], {});
    expect(await cli.exited).toBe(64);
    expect(cli.output()).toContain('register [--dry-run] [--prune]');
  });
});
