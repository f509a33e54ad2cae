import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, repoRoot, spawnService, type ServiceProcess } from '@kitsu-actions/testing';

/**
 * The README's "A demo without Kitsu", with real processes: the fake Kitsu and farms from their CLIs
 * (`pnpm fake-zou`, `pnpm fake-flamenco`, `pnpm fake-afanasy`), the catalogue made with the README's
 * command, `pnpm kitsu-actions register` with the printed admin token, then `pnpm start` and a render on
 * each farm as a logged-in Kitsu admin.
 */
describe('the README demo', () => {
  const processes: ServiceProcess[] = [];
  let dir: string;
  let actionsFile: string;
  let zouUrl: string;
  let botToken: string;
  let adminToken: string;
  let adminSession: string;
  let lightingTask: string;
  let flamencoUrl: string;
  let afanasyPort: string;

  /** A line of the CLI's output after `label`, trimmed. */
  const after = (output: string, label: RegExp): string => {
    const lines = output.split('\n');
    const index = lines.findIndex((line) => label.test(line));
    const value = lines[index + 1]?.trim();
    if (index < 0 || value === undefined || value === '')
      throw new Error(`no line after ${String(label)}:\n${output}`);
    return value;
  };
  const match = (output: string, pattern: RegExp): string => {
    const found = pattern.exec(output)?.[1];
    if (found === undefined) throw new Error(`no ${String(pattern)} in:\n${output}`);
    return found;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kitsu-actions-demo-'));
    const zou = spawnService('packages/testing/src/fake-zou/cli.ts', {}, [
      '--port',
      String(await freePort()),
    ]);
    const flamenco = spawnService('packages/testing/src/fake-flamenco/cli.ts', {}, [
      ...['--port', String(await freePort()), '--start-delay-ms', '100', '--task-ms', '100'],
    ]);
    const afanasy = spawnService('packages/testing/src/fake-afanasy/cli.ts', {}, [
      ...['--port', String(await freePort()), '--start-delay-ms', '100', '--task-ms', '100'],
    ]);
    processes.push(zou, flamenco, afanasy);
    await Promise.all([
      zou.waitFor(/a few task ids: .*\n/, 60_000),
      flamenco.waitFor(/FLAMENCO_URL=\S+\n/, 60_000),
      afanasy.waitFor(/AFANASY_PORT=\d+\n/, 60_000),
    ]);
    zouUrl = match(zou.output(), /fake Zou listening at (\S+)/);
    botToken = after(zou.output(), /^bot token/);
    adminToken = after(zou.output(), /^admin token for `pnpm kitsu-actions register`/);
    adminSession = after(zou.output(), /^ {2}admin {6}/);
    lightingTask = match(zou.output(), /lighting E01\/SQ010\/SH010 = ([0-9a-f-]{36})/);
    flamencoUrl = match(flamenco.output(), /FLAMENCO_URL=(\S+)/);
    afanasyPort = match(afanasy.output(), /AFANASY_PORT=(\d+)/);
    // The README's command: the example catalogue with its render actions uncommented.
    const sed = spawnSync(
      'sed',
      ['/^  # - id: render-flamenco/,$ s/^  # \\{0,1\\}/  /', path.join(repoRoot, 'actions.example.yaml')],
      { encoding: 'utf8' },
    );
    expect(sed.status).toBe(0);
    actionsFile = path.join(dir, 'actions.yaml');
    await writeFile(actionsFile, sed.stdout);
  });

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  const register = async (token: string, publicUrl: string): Promise<ServiceProcess> => {
    const run = spawnService(
      'apps/receiver/src/cli/main.ts',
      {
        KITSU_URL: zouUrl,
        KITSU_BOT_TOKEN: token,
        AUTH_MODE: 'zou-session',
        PUBLIC_URL: publicUrl,
        ACTIONS_FILE: actionsFile,
      },
      ['register'],
    );
    await run.exited;
    return run;
  };

  it('`pnpm fake-zou` prints an admin token `register` works with; the bot token is refused with the hint', async () => {
    const publicUrl = 'http://localhost:8080';
    const first = await register(adminToken, publicUrl);
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('as Noor Haddad (admin)');
    expect(first.output()).toContain(
      '+ "Render lighting on Flamenco"  http://localhost:8080/actions/render-flamenco',
    );
    expect(first.output()).toContain('Done: 4 created, 0 updated, 0 deleted.');
    const again = await register(adminToken, publicUrl);
    expect(again.output()).toContain('0 to create, 0 to update, 0 to delete, 4 unchanged');

    const refused = await register(botToken, 'http://localhost:8081');
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain('answered 403');
    expect(refused.output()).toContain('main menu → Admin → Bots');
    expect(refused.output()).toContain('"Studio Manager"');
    expect(refused.output()).not.toContain('People →');
  });

  it('renders a shot on the fake Flamenco and on the fake afserver, as the README walks through', async () => {
    const port = await freePort();
    const publicUrl = `http://localhost:${port}`;
    const start = spawnService('scripts/start.ts', {
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `{kat-${randomUUID().slice(0, 8)}}`,
      HOST: '127.0.0.1',
      PORT: String(port),
      KITSU_URL: zouUrl,
      KITSU_BOT_TOKEN: botToken,
      AUTH_MODE: 'zou-session',
      FLAMENCO_URL: flamencoUrl,
      AFANASY_HOST: '127.0.0.1',
      AFANASY_PORT: afanasyPort,
      ACTIONS_FILE: actionsFile,
    });
    processes.push(start);
    await start.waitFor(/kitsu-actions: receiver listening at /, 60_000);
    const session = { Cookie: `access_token_cookie=${adminSession}` };
    for (const [action, farm] of [
      ['render-flamenco', 'Flamenco'],
      ['render-cgru', 'Afanasy'],
    ] as const) {
      // The README's curl: a form post from Kitsu's page (here this service's own origin), as the admin.
      const posted = await fetch(`http://127.0.0.1:${port}/actions/${action}`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          ...session,
          Accept: 'text/html',
          Origin: publicUrl,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: `selection=${lightingTask}&entitytype=shot`,
      });
      expect(posted.status).toBe(303);
      const location = posted.headers.get('location') ?? '';
      expect(location).toMatch(new RegExp(`^${publicUrl}/jobs/render-`));
      const statusUrl = location.replace(publicUrl, `http://127.0.0.1:${port}`);
      // The worker renders on the fake farm's clock: poll the status against a deadline.
      const deadline = Date.now() + 30_000;
      let view: { state: string; progress: { message: string }; report?: { message: string } };
      for (;;) {
        const answer = await fetch(statusUrl, { headers: { ...session, Accept: 'application/json' } });
        expect(answer.status).toBe(200);
        view = (await answer.json()) as typeof view;
        if (['completed', 'failed', 'cancelled'].includes(view.state) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(view.state).toBe('completed');
      expect(view.progress.message).toBe(`1 shot rendered on ${farm}`);
      expect(view.report?.message).toBe('Commented on 1 of 1 task(s) in Kitsu.');
    }
  }, 120_000);
});
