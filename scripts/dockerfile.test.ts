/**
 * What the Docker image holds and runs, read from the Dockerfile's stages (no Docker engine needed);
 * scripts/image.test.ts runs the same build on this host and starts the apps from it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dockerCopy, dockerEnv, parseDockerfile, repoRoot, type DockerStage } from '@kitsu-actions/testing';

const stages = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const stage = (name: string): DockerStage => {
  const found = stages.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage named ${name}`);
  return found;
};
const keywords = (of: DockerStage, keyword: string) =>
  of.instructions.filter((instruction) => instruction.keyword === keyword);

/** `node [--flag ...] <app>/dist/<entry>.js [args]`: a bundle of scripts/build.ts, under the runtime WORKDIR. */
const runsBundle = /^node( --[a-z-]+)* (receiver|worker)\/dist\/[a-z-]+\.js( |$)/;

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { command?: string[]; build?: unknown; image?: string }>;
};

describe('the Dockerfile', () => {
  it('has a build stage and ends with the runtime stage (what `docker build` makes), both on Node 24', () => {
    expect(stages.map((candidate) => candidate.name)).toEqual(['build', 'runtime']);
    expect(stage('runtime').from).toMatch(/^node:24-/);
    expect(stage('build').from).toBe(stage('runtime').from);
  });

  it('the build stage installs from the lockfile, type-checks, then builds and deploys the apps into /prod', () => {
    const runs = keywords(stage('build'), 'RUN').map((instruction) => instruction.args);
    expect(runs.slice(1)).toEqual([
      'pnpm install --frozen-lockfile',
      'pnpm typecheck',
      'pnpm build --deploy /prod',
    ]);
    expect(keywords(stage('build'), 'WORKDIR').map((instruction) => instruction.args)).toEqual(['/app']);
  });

  it('the runtime stage copies only the deployments (dist/ and production node_modules) and the shipped catalogue', () => {
    const runtime = stage('runtime');
    expect(keywords(runtime, 'COPY').map(dockerCopy)).toEqual([
      { flags: { from: 'build' }, sources: ['/app/actions.example.yaml'], dest: './' },
      { flags: { from: 'build' }, sources: ['/prod/receiver'], dest: './receiver' },
      { flags: { from: 'build' }, sources: ['/prod/worker'], dest: './worker' },
    ]);
    // Nothing is fetched, installed or built there.
    expect(keywords(runtime, 'RUN')).toEqual([]);
    expect(keywords(runtime, 'ADD')).toEqual([]);
    expect(keywords(runtime, 'WORKDIR').map((instruction) => instruction.args)).toEqual(['/app']);
  });

  it('runs with NODE_ENV=production as the unprivileged node user', () => {
    const runtime = stage('runtime');
    expect(dockerEnv(runtime)).toMatchObject({ NODE_ENV: 'production' });
    const users = keywords(runtime, 'USER');
    expect(users.map((instruction) => instruction.args)).toEqual(['node']);
    // Every instruction that runs something comes after USER.
    const cmd = keywords(runtime, 'CMD').at(-1);
    expect(cmd?.line).toBeGreaterThan(users[0]?.line ?? Infinity);
  });

  it('its command runs node on the receiver bundle: no tsx, no TypeScript, no entrypoint', () => {
    const runtime = stage('runtime');
    const cmds = keywords(runtime, 'CMD');
    expect(cmds).toHaveLength(1);
    expect(cmds[0]?.exec?.join(' ')).toMatch(runsBundle);
    expect(cmds[0]?.exec?.at(-1)).toBe('receiver/dist/main.js');
    expect(keywords(runtime, 'ENTRYPOINT')).toEqual([]);
    for (const instruction of runtime.instructions) {
      expect(instruction.args, `line ${String(instruction.line)}`).not.toMatch(/tsx|\.ts\b/);
    }
  });
});

describe('docker-compose.yml', () => {
  it("the worker service runs the worker bundle with node; the receiver, the image's command", () => {
    const worker = compose.services['worker']?.command ?? [];
    expect(worker.join(' ')).toMatch(runsBundle);
    expect(worker.at(-1)).toBe('worker/dist/main.js');
    expect(worker.join(' ')).not.toMatch(/tsx|\.ts\b/);
    expect(compose.services['receiver']?.command).toBeUndefined();
    expect(compose.services['worker']?.image).toBe(compose.services['receiver']?.image);
  });

  const dockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!dockerCompose)(
    '`docker-compose config` accepts the file (where docker-compose is installed)',
    () => {
      const checked = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '--quiet'], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(checked.stderr).toBe('');
      expect(checked.status).toBe(0);
    },
  );
});

describe('the README', () => {
  it('its docker commands run the bundles, never tsx or TypeScript sources', () => {
    const lines = readFileSync(path.join(repoRoot, 'README.md'), 'utf8').split('\n');
    // Each `docker ...` command line with its `\` continuations.
    const commands: string[] = [];
    lines.forEach((line, index) => {
      if (!/^\s*docker /.test(line)) return;
      let command = line.trim();
      for (let next = index + 1; command.endsWith('\\'); next += 1) {
        command = `${command.slice(0, -1).trim()} ${(lines[next] ?? '').trim()}`;
      }
      commands.push(command);
    });
    const running = commands.filter((command) => / node /.test(command));
    expect(running.length).toBeGreaterThan(0);
    for (const command of running) {
      expect(command.slice(command.indexOf(' node ') + 1)).toMatch(runsBundle);
      expect(command).not.toMatch(/tsx|\.ts\b/);
    }
  });
});
