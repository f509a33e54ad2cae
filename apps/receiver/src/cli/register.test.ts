import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseCatalogue } from '@kitsu-actions/shared';
import { repoRoot, startFakeZou, type CustomActionRow, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient, type CustomAction } from '@kitsu-actions/zou';
import { runCli } from './cli.ts';
import { desiredActions, ourActionId, planRegistration, register, type RegisterOptions } from './register.ts';

const publicUrl = 'https://kitsu.studio.example/kitsu-actions';

const catalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug }
  - { id: render-lighting, name: Render lighting, kind: debug, entityType: shot, ajax: true }
  - { id: stats, name: Production stats, kind: debug, entityType: all }
`;

let zou: FakeZou | undefined;
let dir: string | undefined;
afterEach(async () => {
  await zou?.close();
  zou = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function fakeZou(): Promise<FakeZou> {
  zou = await startFakeZou();
  return zou;
}

function adminToken(fake: FakeZou): string {
  return fake.control.issueToken(fake.seed.ids.persons.admin, { ttlMs: null });
}

function envFor(fake: FakeZou, overrides: Record<string, string | undefined> = {}) {
  return {
    KITSU_URL: fake.url,
    KITSU_BOT_TOKEN: adminToken(fake),
    AUTH_MODE: 'zou-session',
    PUBLIC_URL: publicUrl,
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** Runs the register command in-process with the catalogue text; returns what it printed. */
async function runRegister(
  fake: FakeZou,
  yaml: string,
  options: Partial<RegisterOptions> = {},
  env: Record<string, string | undefined> = {},
): Promise<string[]> {
  const config = loadConfig(envFor(fake, env));
  const kitsu = config.kitsu;
  if (kitsu?.botToken === undefined) throw new Error('test setup: no Kitsu bot token');
  const lines: string[] = [];
  await register(
    {
      config,
      catalogue: parseCatalogue(yaml, 'actions.yaml'),
      client: createZouClient({ baseUrl: kitsu.url, auth: { token: kitsu.botToken }, retries: 0 }),
      print: (line) => lines.push(line),
    },
    { dryRun: false, prune: false, ...options },
  );
  return lines;
}

/** Requests that change something: what --dry-run and a second run must never send. */
function writes(fake: FakeZou) {
  return fake.control.requests().filter((request) => request.method !== 'GET');
}

function kitsuActions(fake: FakeZou) {
  return [...fake.state.customActions.values()]
    .map(({ name, url, entity_type, is_ajax }) => ({ name, url, entity_type, is_ajax }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function seedAction(fake: FakeZou, fields: Pick<CustomActionRow, 'name' | 'url'> & Partial<CustomActionRow>) {
  const row: CustomActionRow = {
    id: randomUUID(),
    type: 'CustomAction',
    entity_type: 'all',
    is_ajax: false,
    created_at: '2025-03-01T09:00:00',
    updated_at: '2025-03-01T09:00:00',
    ...fields,
  };
  fake.state.customActions.set(row.id, row);
  return row;
}

async function actionsFile(yaml: string): Promise<string> {
  dir ??= await mkdtemp(path.join(tmpdir(), 'kitsu-actions-register-'));
  const file = path.join(dir, 'actions.yaml');
  await writeFile(file, yaml);
  return file;
}

async function cli(argv: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('register against the fake Zou', () => {
  it('creates every action on the first run, and changes nothing on the second', async () => {
    const fake = await fakeZou();
    const first = await runRegister(fake, catalogueYaml);
    expect(kitsuActions(fake)).toEqual([
      { name: 'Debug selection', url: `${publicUrl}/actions/debug`, entity_type: 'all', is_ajax: false },
      { name: 'Production stats', url: `${publicUrl}/actions/stats`, entity_type: 'all', is_ajax: false },
      {
        name: 'Render lighting',
        url: `${publicUrl}/actions/render-lighting`,
        entity_type: 'shot',
        is_ajax: true,
      },
    ]);
    expect(first.filter((line) => line.startsWith('+ '))).toHaveLength(3);
    expect(first).toContain(
      '3 to create, 0 to update, 0 to delete, 0 unchanged; 0 other Kitsu custom actions (not under PUBLIC_URL) left alone',
    );
    expect(writes(fake).map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);

    const before = fake.control.requests().length;
    const second = await runRegister(fake, catalogueYaml);
    expect(
      fake.control
        .requests()
        .slice(before)
        .map((r) => r.method),
    ).toEqual(['GET', 'GET']);
    expect(writes(fake)).toHaveLength(3);
    expect(second.filter((line) => line.startsWith('= '))).toHaveLength(3);
    expect(second).toContain('Kitsu already matches the catalogue: nothing to do.');
  });

  it('updates a changed entity type and AJAX flag with one PUT, keeping the other fields', async () => {
    const fake = await fakeZou();
    await runRegister(fake, catalogueYaml);
    const changed = catalogueYaml.replace(
      '{ id: stats, name: Production stats, kind: debug, entityType: all }',
      '{ id: stats, name: Production stats, kind: debug, entityType: asset, ajax: true }',
    );
    const before = writes(fake).length;
    const lines = await runRegister(fake, changed);
    const sent = writes(fake).slice(before);
    expect(sent.map((r) => r.method)).toEqual(['PUT']);
    expect(lines).toContain('~ "Production stats"  (' + (sent[0]?.path.split('/').pop() ?? '') + ')');
    expect(lines).toContain('    entity_type: "all" → "asset"');
    expect(lines).toContain('    is_ajax: false → true');
    expect(kitsuActions(fake)).toContainEqual({
      name: 'Production stats',
      url: `${publicUrl}/actions/stats`,
      entity_type: 'asset',
      is_ajax: true,
    });
    // A rename alone keeps entity_type and is_ajax as they are.
    const renamed = changed.replace('name: Production stats', 'name: Stats for the production');
    await runRegister(fake, renamed);
    expect(kitsuActions(fake)).toContainEqual({
      name: 'Stats for the production',
      url: `${publicUrl}/actions/stats`,
      entity_type: 'asset',
      is_ajax: true,
    });
    expect(fake.state.customActions.size).toBe(3);
  });

  it('keeps an action removed from the catalogue, and deletes it only with --prune', async () => {
    const fake = await fakeZou();
    await runRegister(fake, catalogueYaml);
    const without = catalogueYaml.replace(/^ {2}- \{ id: stats.*$/m, '');
    const before = writes(fake).length;
    const kept = await runRegister(fake, without);
    expect(writes(fake).slice(before)).toEqual([]);
    expect(kept).toContain(
      `! "Production stats"  ${publicUrl}/actions/stats  ("stats" is not in the catalogue; kept: --prune deletes it)`,
    );
    expect(fake.state.customActions.size).toBe(3);

    const pruned = await runRegister(fake, without, { prune: true });
    expect(
      writes(fake)
        .slice(before)
        .map((r) => r.method),
    ).toEqual(['DELETE']);
    expect(pruned).toContain(
      `- "Production stats"  ${publicUrl}/actions/stats  ("stats" is not in the catalogue)`,
    );
    expect(kitsuActions(fake).map((a) => a.name)).toEqual(['Debug selection', 'Render lighting']);
  });

  it('never touches a Kitsu action that points elsewhere, even with --prune', async () => {
    const fake = await fakeZou();
    const others = [
      seedAction(fake, { name: 'Open in RV', url: 'https://review.studio.example/rv' }),
      // Same host, a path that only starts like ours.
      seedAction(fake, {
        name: 'Old service',
        url: 'https://kitsu.studio.example/kitsu-actions-old/actions/x',
      }),
      seedAction(fake, { name: 'Zou hook', url: 'https://kitsu.studio.example/api/actions/x' }),
    ];
    const snapshot = others.map((row) => ({ ...row }));
    const lines = await runRegister(fake, catalogueYaml, { prune: true });
    expect(writes(fake).map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
    for (const row of snapshot) expect(fake.state.customActions.get(row.id)).toEqual(row);
    expect(lines.at(-2)).toMatch(/; 3 other Kitsu custom actions \(not under PUBLIC_URL\) left alone$/);
  });

  it('adopts an action typed in by hand (same name, old URL) instead of adding a second one', async () => {
    const fake = await fakeZou();
    const manual = seedAction(fake, {
      name: 'Debug selection',
      url: 'http://actions.old.example:8080/actions/debug',
    });
    await runRegister(fake, catalogueYaml);
    expect(
      writes(fake)
        .map((r) => r.method)
        .sort(),
    ).toEqual(['POST', 'POST', 'PUT']);
    expect(fake.state.customActions.get(manual.id)?.url).toBe(`${publicUrl}/actions/debug`);
    expect(fake.state.customActions.size).toBe(3);
  });

  it('changes nothing with --dry-run, and prints the same diff', async () => {
    const fake = await fakeZou();
    seedAction(fake, { name: 'Debug selection', url: `${publicUrl}/actions/debug`, is_ajax: true });
    const lines = await runRegister(fake, catalogueYaml, { dryRun: true, prune: true });
    expect(writes(fake)).toEqual([]);
    expect(lines[0]).toMatch(/as .* \(admin\); actions under .*\(dry run: nothing will be changed\)$/);
    expect(lines).toContain('    is_ajax: true → false');
    expect(lines.filter((line) => line.startsWith('+ '))).toHaveLength(2);
    expect(lines.at(-1)).toBe('Dry run: nothing was changed in Kitsu.');
  });

  it('puts the shared secret in the URL under AUTH_MODE=token, and never prints it', async () => {
    const fake = await fakeZou();
    const secret = 'a-very-secret-token-1234';
    const env = { AUTH_MODE: 'token', ACTIONS_TOKEN: secret };
    const lines = await runRegister(fake, catalogueYaml, {}, env);
    expect(kitsuActions(fake).map((a) => a.url)).toContain(`${publicUrl}/actions/debug?token=${secret}`);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines).toContainEqual(expect.stringContaining(`${publicUrl}/actions/debug?token=***`));
    // A new secret updates every URL; the diff says so without showing either.
    const rotated = await runRegister(
      fake,
      catalogueYaml,
      {},
      { ...env, ACTIONS_TOKEN: 'another-secret-token-5678' },
    );
    expect(rotated.filter((line) => line.endsWith('(the token changed)'))).toHaveLength(3);
    expect(rotated.join('\n')).not.toMatch(/secret-token/);
  });
});

describe('the kitsu-actions command', () => {
  it('names the 403 and the admin rule when the bot is not an admin, and writes nothing', async () => {
    const fake = await fakeZou();
    const env = {
      ...envFor(fake, { KITSU_BOT_TOKEN: fake.seed.botToken }),
      ACTIONS_FILE: await actionsFile(catalogueYaml),
    };
    const refused = await cli(['register'], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('Zou POST /data/custom-actions answered 403');
    expect(refused.err).toContain('0 changes applied before it');
    expect(refused.err).toContain("Kitsu's custom actions are admin only");
    expect(fake.state.customActions.size).toBe(0);

    const dry = await cli(['register', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/is a manager; Zou lets only admins change custom actions/);
  });

  it('refuses a URL over 400 characters before sending anything', async () => {
    const fake = await fakeZou();
    // 384 characters: /actions/debug still fits (398), /actions/render-lighting does not (408).
    const longUrl = `https://kitsu.studio.example/${'k'.repeat(355)}`;
    const result = await cli(['register'], {
      ...envFor(fake, { PUBLIC_URL: longUrl }),
      ACTIONS_FILE: await actionsFile(catalogueYaml),
    });
    expect(result.code).toBe(78);
    expect(result.err).toMatch(
      /the URL of "render-lighting" is 408 characters long .*Kitsu stores at most 400/,
    );
    expect(result.err).not.toContain('"debug"');
    expect(fake.control.requests()).toEqual([]);
  });

  it('exits 78 on missing settings and 64 on a bad command line', async () => {
    const fake = await fakeZou();
    const file = await actionsFile(catalogueYaml);
    const noBot = await cli(['register'], {
      // AUTH_MODE=token needs no bot to serve requests, but register does.
      ...envFor(fake, { KITSU_BOT_TOKEN: undefined, AUTH_MODE: 'token', ACTIONS_TOKEN: 'x'.repeat(16) }),
      ACTIONS_FILE: file,
    });
    expect(noBot.code).toBe(78);
    expect(noBot.err).toContain('KITSU_URL and KITSU_BOT_TOKEN are required');
    const zouSession = await cli(['register'], {
      ...envFor(fake, { KITSU_BOT_TOKEN: undefined }),
      ACTIONS_FILE: file,
    });
    expect(zouSession.code).toBe(78);
    expect(zouSession.err).toContain('KITSU_BOT_TOKEN: required with AUTH_MODE=zou-session');
    const noPublicUrl = await cli(['register'], {
      ...envFor(fake, { PUBLIC_URL: undefined }),
      ACTIONS_FILE: file,
    });
    expect(noPublicUrl.code).toBe(78);
    expect(noPublicUrl.err).toContain('PUBLIC_URL is required');
    const noAuthMode = await cli(['register'], {
      ...envFor(fake, { AUTH_MODE: undefined }),
      ACTIONS_FILE: file,
    });
    expect(noAuthMode.code).toBe(78);
    expect(noAuthMode.err).toContain('AUTH_MODE: required when KITSU_URL is set');
    expect((await cli(['register', '--purge'], {})).code).toBe(64);
    expect((await cli(['regster'], {})).code).toBe(64);
    expect(fake.control.requests()).toEqual([]);
  });

  it('exits 1 naming the route and status when Zou fails', async () => {
    const fake = await fakeZou();
    fake.control.failNext(1, 500, { method: 'POST', path: '/data/custom-actions' });
    const result = await cli(['register'], {
      ...envFor(fake),
      ACTIONS_FILE: await actionsFile(catalogueYaml),
    });
    expect(result.code).toBe(1);
    expect(result.err).toContain('Zou POST /data/custom-actions answered 500: Internal server error.');
    expect(result.err).not.toContain('admin only');
  });

  it('runs as a real process: pnpm kitsu-actions register --dry-run prints the diff', async () => {
    const fake = await fakeZou();
    seedAction(fake, { name: 'Debug selection', url: `${publicUrl}/actions/debug` });
    const env = { ...envFor(fake), ACTIONS_FILE: await actionsFile(catalogueYaml) };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'apps/receiver/src/cli/main.ts'), 'register', '--dry-run'],
      { cwd: repoRoot, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining([
        `= "Debug selection"  ${publicUrl}/actions/debug`,
        `+ "Render lighting"  ${publicUrl}/actions/render-lighting  entity_type=shot is_ajax=true`,
        `+ "Production stats"  ${publicUrl}/actions/stats  entity_type=all is_ajax=false`,
        '2 to create, 0 to update, 0 to delete, 1 unchanged; 0 other Kitsu custom actions (not under PUBLIC_URL) left alone',
        'Dry run: nothing was changed in Kitsu.',
      ]),
    );
    expect(writes(fake)).toEqual([]);
    expect(fake.state.customActions.size).toBe(1);
  });
});

describe('planRegistration', () => {
  const action = (fields: Partial<CustomAction> & Pick<CustomAction, 'name' | 'url'>): CustomAction => ({
    id: randomUUID(),
    entity_type: 'all',
    is_ajax: false,
    ...fields,
  });
  const desired = desiredActions(parseCatalogue(catalogueYaml, 'actions.yaml'), { publicUrl });

  it('matches by URL before name, so a renamed action is updated and a namesake elsewhere is left alone', () => {
    const ours = action({ name: 'Debug', url: `${publicUrl}/actions/debug` });
    const namesake = action({ name: 'Debug selection', url: 'https://elsewhere.example/debug' });
    const plan = planRegistration([namesake, ours], desired.slice(0, 1), { prune: true, publicUrl });
    expect(plan.steps).toEqual([
      {
        op: 'update',
        current: ours,
        desired: desired[0],
        changes: [{ field: 'name', from: 'Debug', to: 'Debug selection' }],
      },
    ]);
    expect(plan.others).toEqual([namesake]);
  });

  it('deletes a second action pointing at the same id only with prune', () => {
    const first = action({ name: 'Debug selection', url: `${publicUrl}/actions/debug` });
    const copy = action({ name: 'Debug selection', url: `${publicUrl}/actions/debug/` });
    const plan = planRegistration([first, copy], desired.slice(0, 1), { prune: false, publicUrl });
    expect(plan.steps.map((step) => step.op)).toEqual(['unchanged', 'keep']);
    const pruned = planRegistration([first, copy], desired.slice(0, 1), { prune: true, publicUrl });
    expect(pruned.steps.at(-1)).toMatchObject({
      op: 'delete',
      current: copy,
      reason: 'a second Kitsu action for "debug"',
    });
  });

  it('tells our URLs from others', () => {
    expect(ourActionId(`${publicUrl}/actions/debug?token=x`, publicUrl)).toBe('debug');
    expect(ourActionId('https://KITSU.studio.example:443/kitsu-actions/actions/debug', publicUrl)).toBe(
      'debug',
    );
    expect(ourActionId(`${publicUrl}/actions/`, publicUrl)).toBeUndefined();
    expect(ourActionId(`${publicUrl}/actions/a/b`, publicUrl)).toBeUndefined();
    expect(ourActionId('http://kitsu.studio.example/kitsu-actions/actions/debug', publicUrl)).toBeUndefined();
    expect(ourActionId('not a url', publicUrl)).toBeUndefined();
    expect(ourActionId(null, publicUrl)).toBeUndefined();
  });
});
