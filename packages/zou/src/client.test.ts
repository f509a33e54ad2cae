import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
// The fake lives in @kitsu-actions/testing; imported by path until that package's entry re-exports it.
import { startFakeZou } from '@kitsu-actions/testing';
import type { FakeZou } from '@kitsu-actions/testing';
import { createZouClient } from './client.ts';
import type { ZouClientOptions } from './client.ts';
import {
  ZouAuthError,
  ZouError,
  ZouNetworkError,
  ZouPlaylistExistsError,
  ZouResponseError,
} from './errors.ts';
import type { ZouLogger } from './transport.ts';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** Fast retries for tests; each test states what it changes. */
function clientFor(zou: FakeZou, overrides: Partial<ZouClientOptions> = {}) {
  return createZouClient({
    baseUrl: zou.url,
    auth: { token: zou.seed.botToken },
    retries: 3,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 5,
    timeoutMs: 5_000,
    ...overrides,
  });
}

/** A fake Zou of the test's own (its state changes, or it goes away), closed when the test ends. */
async function ownZou(): Promise<FakeZou> {
  const own = await startFakeZou();
  onTestFinished(() => own.close());
  return own;
}

function loginAs(
  zou: FakeZou,
  who: keyof FakeZou['seed']['logins'],
  overrides: Partial<ZouClientOptions> = {},
) {
  return clientFor(zou, { auth: zou.seed.logins[who], ...overrides });
}

describe('Zou client against the fake Zou', () => {
  let zou: FakeZou;

  beforeAll(async () => {
    zou = await startFakeZou({ bigProject: { tasks: 1_500 } });
  });
  afterAll(async () => {
    await zou.close();
  });
  afterEach(() => {
    zou.control.clearFaults();
  });

  describe('authentication', () => {
    it('logs in on first use, refreshes an expired access token, and retries the request once', async () => {
      const client = loginAs(zou, 'manager');
      const start = zou.state.requests.length;
      await client.getTask(zou.seed.ids.tasks.lightingSh010);
      zou.control.expireAll({ refresh: false });
      const task = await client.getTask(zou.seed.ids.tasks.lightingSh010);
      expect(task.id).toBe(zou.seed.ids.tasks.lightingSh010);
      const log = zou.state.requests.slice(start).map((r) => `${r.method} ${r.path} ${String(r.status)}`);
      const taskPath = `/api/data/tasks/${zou.seed.ids.tasks.lightingSh010}`;
      expect(log).toEqual([
        'POST /api/auth/login 200',
        `GET ${taskPath} 200`,
        `GET ${taskPath} 401`,
        'GET /api/auth/refresh-token 200',
        `GET ${taskPath} 200`,
      ]);
    });

    it('logs in again when the refresh token has expired too', async () => {
      const client = loginAs(zou, 'manager');
      await client.listTaskTypes();
      const start = zou.state.requests.length;
      zou.control.expireAll();
      const types = await client.listTaskTypes();
      expect(types.map((t) => t.name)).toContain('Lighting');
      const log = zou.state.requests.slice(start).map((r) => `${r.method} ${r.path} ${String(r.status)}`);
      expect(log).toEqual([
        'GET /api/data/task-types 401',
        'GET /api/auth/refresh-token 401',
        'POST /api/auth/login 200',
        'GET /api/data/task-types 200',
      ]);
    });

    it('shares one renewal between concurrent requests that all got 401', async () => {
      const client = loginAs(zou, 'manager', { concurrency: 10 });
      await client.listTaskTypes();
      zou.control.expireAll();
      const start = zou.state.requests.length;
      const ids = zou.seed.ids.tasks.spf.slice(0, 10);
      const tasks = await Promise.all(ids.map(async (id) => client.getTask(id)));
      expect(tasks.map((t) => t.id)).toEqual(ids);
      const logins = zou.state.requests.slice(start).filter((r) => r.path === '/api/auth/login');
      expect(logins).toHaveLength(1);
    });

    it('throws ZouAuthError for a wrong password, without retrying', async () => {
      const client = clientFor(zou, { auth: { email: zou.seed.logins.artist.email, password: 'wrong' } });
      const start = zou.state.requests.length;
      const error = await client.listTaskTypes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouAuthError);
      expect((error as ZouAuthError).status).toBe(400);
      expect((error as Error).message).toContain(`refused the login for ${zou.seed.logins.artist.email}`);
      expect(zou.state.requests.length - start).toBe(1);
    });

    it('throws ZouAuthError when the bot token is revoked, without a retry or a login', async () => {
      const own = await ownZou();
      const client = clientFor(own);
      own.control.revokeToken(own.seed.botToken);
      const error = await client.listTaskTypes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouAuthError);
      expect((error as ZouAuthError).status).toBe(401);
      expect(own.state.requests).toHaveLength(1);
    });

    it('authenticated(): resolves the user of a session cookie or bearer', async () => {
      const client = clientFor(zou);
      const token = zou.control.issueToken(zou.seed.ids.persons.supervisor);
      const byCookie = await client.authenticated(token);
      expect(byCookie).toMatchObject({ authenticated: true, user: { id: zou.seed.ids.persons.supervisor } });
      if (byCookie.authenticated) expect(byCookie.user.role).toBe('supervisor');
      const byBearer = await client.authenticated(token, { via: 'bearer' });
      expect(byBearer).toMatchObject({ authenticated: true, user: { role: 'supervisor' } });
      expect(zou.state.requests.at(-1)).toMatchObject({
        path: '/api/auth/authenticated',
        personId: zou.seed.ids.persons.supervisor,
      });
    });

    it('authenticated(): a malformed token (422) is refused like an invalid one (401), not thrown', async () => {
      const client = clientFor(zou);
      const expired = zou.control.issueToken(zou.seed.ids.persons.artist, { ttlMs: 0 });
      const [header, payload] = expired.split('.');
      const badlySigned = `${header ?? ''}.${payload ?? ''}.c2lnbmF0dXJl`;

      const start = zou.state.requests.length;
      const malformed = await client.authenticated('aaaa.bbbb.cccc');
      expect(malformed).toEqual({ authenticated: false, status: 422, reason: 'Invalid header string' });
      const forged = await client.authenticated(badlySigned);
      expect(forged).toEqual({ authenticated: false, status: 422, reason: 'Signature verification failed' });
      const stale = await client.authenticated(expired);
      expect(stale).toEqual({ authenticated: false, status: 401, reason: 'Signature has expired' });
      // 4xx are answers, not failures: one request each.
      expect(zou.state.requests.length - start).toBe(3);

      // Not a JWT at all (or an attempt to inject a header): refused before any request.
      const notJwt = await client.authenticated('x; other_cookie=1');
      expect(notJwt).toMatchObject({ authenticated: false, status: null });
      expect(zou.state.requests.length - start).toBe(3);
    });
  });

  describe('retries', () => {
    it('retries 5xx and succeeds', async () => {
      const client = clientFor(zou);
      const id = zou.seed.ids.tasks.compositingSh010;
      const path = `/data/tasks/${id}`;
      zou.control.failNext(2, 500, { path });
      // Only this task's requests: one of a test before may still be logged in a shuffled order.
      const start = zou.control.requests({ path }).length;
      const task = await client.getTask(id);
      expect(task.id).toBe(id);
      expect(
        zou.control
          .requests({ path })
          .slice(start)
          .map((r) => r.status),
      ).toEqual([500, 500, 200]);
    });

    it('throws ZouError after the configured retries when 5xx persist', async () => {
      const client = clientFor(zou, { retries: 2 });
      zou.control.failNext(10, 502, { path: '/data/task-status' });
      const start = zou.state.requests.length;
      const error = await client.listTaskStatuses().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouError);
      expect((error as ZouError).status).toBe(502);
      expect((error as ZouError).message).toBe(
        'Zou GET /data/task-status answered 502: 502 Bad Gateway 502 Bad Gateway nginx',
      );
      expect(zou.state.requests.length - start).toBe(3);
    });

    it('never retries a 4xx', async () => {
      const client = clientFor(zou);
      const start = zou.state.requests.length;
      const error = await client.getTask(UNKNOWN_ID).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouError);
      // Zou's 404 is werkzeug's, whatever was not found.
      const notFound =
        '404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';
      expect((error as ZouError).message).toBe(`Zou GET /data/tasks/${UNKNOWN_ID} answered 404: ${notFound}`);
      expect(error).toMatchObject({ status: 404, route: `/data/tasks/${UNKNOWN_ID}`, zouMessage: notFound });
      zou.control.failNext(1, 429, { path: '/data/task-types' });
      await expect(client.listTaskTypes()).rejects.toMatchObject({ status: 429 });
      expect(zou.state.requests.length - start).toBe(2);
    });

    it('does not repeat a POST that may have been applied (500), but does after a 503', async () => {
      const own = await ownZou();
      const client = clientFor(own);
      const { ids } = own.seed;
      own.control.failNext(1, 500, { method: 'POST' });
      const input = { task_status_id: ids.taskStatuses.wip, comment: 'hello' };
      await expect(client.commentTask(ids.tasks.animationSh010, input)).rejects.toMatchObject({
        status: 500,
      });
      expect(own.state.requests).toHaveLength(1);
      own.control.failNext(1, 503, { method: 'POST' });
      const comment = await client.commentTask(ids.tasks.animationSh010, input);
      expect(comment.text).toBe('hello');
      expect(own.state.comments).toHaveLength(1);
    });

    it('waits for Retry-After before retrying, and gives up at once when it is too long', async () => {
      const client = clientFor(zou, { maxRetryAfterMs: 5_000 });
      zou.control.failNext(1, 503, { path: '/data/task-types', retryAfter: 1 });
      const started = performance.now();
      await client.listTaskTypes();
      expect(performance.now() - started).toBeGreaterThanOrEqual(990);

      zou.control.failNext(1, 503, { path: '/data/task-types', retryAfter: 3600 });
      const start = zou.state.requests.length;
      await expect(client.listTaskTypes()).rejects.toMatchObject({ status: 503 });
      expect(zou.state.requests.length - start).toBe(1);
    });

    it('retries when the connection is refused, and succeeds once Zou is back', async () => {
      const own = await ownZou();
      const warnings: Record<string, unknown>[] = [];
      const logger: ZouLogger = {
        debug: () => undefined,
        warn: (obj) => {
          warnings.push(obj);
          // Zou comes back while the client is backing off after its first failure.
          if (warnings.length === 1) void own.control.acceptConnections();
        },
      };
      const client = clientFor(own, { logger, retryBaseDelayMs: 50, retryMaxDelayMs: 100 });
      await own.control.refuseConnections();
      const types = await client.listTaskTypes();
      expect(types.length).toBeGreaterThan(0);
      expect(warnings[0]).toMatchObject({ route: '/data/task-types', attempt: 1 });
    });

    it('ends the wait between retries at once when the caller aborts, with the abort reason', async () => {
      const own = await startFakeZou();
      try {
        const controller = new AbortController();
        const logger: ZouLogger = {
          debug: () => undefined,
          // Aborted while the client backs off after its first failure, a minute before its next attempt.
          warn: () => {
            controller.abort(new Error('job cancelled'));
          },
        };
        const client = clientFor(own, { logger, retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000 });
        own.control.failNext(1, 502, { path: '/data/task-types' });
        const started = performance.now();
        await expect(client.listTaskTypes({ signal: controller.signal })).rejects.toThrow(/^job cancelled$/);
        expect(performance.now() - started).toBeLessThan(5_000);
        expect(own.state.requests).toHaveLength(1);
      } finally {
        await own.close();
      }
    });

    it('names the base URL when Zou stays unreachable', async () => {
      const own = await startFakeZou();
      const client = clientFor(own, { retries: 2 });
      await own.close();
      const error = await client.listTaskTypes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouNetworkError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Zou at ${own.url} is unreachable \\(GET /data/task-types\\): .*ECONNREFUSED.* \\(after 3 attempts\\)$`,
        ),
      );
      expect((error as ZouNetworkError).status).toBeNull();
    });

    it('times out a slow answer and reports it as a network error', async () => {
      const own = await ownZou();
      own.control.slow(2_000, { path: '/data/task-types' });
      const client = clientFor(own, { timeoutMs: 100, retries: 1 });
      const error = await client.listTaskTypes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouNetworkError);
      expect((error as Error).message).toContain('no answer within 100 ms (after 2 attempts)');
    });
  });

  describe('reads', () => {
    it('accepts a bare Zou URL and trailing slashes', async () => {
      const bare = await startFakeZou({ prefix: '' });
      try {
        const client = createZouClient({ baseUrl: `${bare.url}//`, auth: { token: bare.seed.botToken } });
        expect(client.baseUrl).toBe(bare.url);
        const project = await client.getProject(bare.seed.ids.projects.spf);
        expect(project).toMatchObject({
          name: 'Spring Festival',
          code: 'SPF',
          fps: '25',
          resolution: '1920x1080',
        });
        expect(bare.state.requests[0]?.path).toBe(`/data/projects/${bare.seed.ids.projects.spf}`);
      } finally {
        await bare.close();
      }
      expect(createZouClient({ baseUrl: `${zou.url}/`, auth: { token: zou.seed.botToken } }).baseUrl).toBe(
        zou.url,
      );
    });

    it('reads a full task, entities of each kind, previews and reference lists', async () => {
      const client = clientFor(zou);
      const { ids } = zou.seed;
      const full = await client.getTaskFull(ids.tasks.lightingSh010);
      expect(full.entity.id).toBe(ids.shots[0]);
      expect(full.project.fps).toBe('25');
      expect(full.task_type.name).toBe('Lighting');
      expect(full.persons.map((p) => p.id)).toEqual([ids.persons.lighter]);
      expect(full.episode?.id).toBe(ids.episodes[0]);

      const shot = await client.getEntity('shot', ids.shots[0] ?? '');
      expect(shot).toMatchObject({
        nb_frames: 48,
        parent_id: ids.sequences[0],
        data: { frame_in: 1001, frame_out: 1048 },
      });
      expect((await client.getEntity('sequence', ids.sequences[0] ?? '')).parent_id).toBe(ids.episodes[0]);
      expect((await client.getEntity('episode', ids.episodes[0] ?? '')).name).toBe('E01');
      expect((await client.getEntity('asset', ids.assets.mei)).name).toBe('Mei');
      expect((await client.getEntity('entity', ids.assets.mei)).name).toBe('Mei');
      await expect(client.getEntity('shot', ids.assets.mei)).rejects.toMatchObject({ status: 404 });

      const withPreviews = zou.seed.rows.tasks.find(
        (t) => t.retake_count > 0 && t.last_preview_file_id !== null,
      );
      const previews = await client.getTaskPreviews(withPreviews?.id ?? '');
      expect(previews[0]?.id).toBe(withPreviews?.last_preview_file_id);

      expect((await client.listTaskStatuses()).map((s) => s.short_name).sort()).toEqual([
        'done',
        'retake',
        'todo',
        'wfa',
        'wip',
      ]);
      const persons = await client.listPersons();
      expect(persons.find((p) => p.id === ids.persons.bot)?.is_bot).toBe(true);
    });

    it('refuses a non-UUID id before sending anything', async () => {
      const client = clientFor(zou);
      const start = zou.state.requests.length;
      await expect(client.getTask('../persons')).rejects.toThrow(TypeError);
      await expect(client.getTask('not-a-uuid')).rejects.toThrow('Invalid task id "not-a-uuid"');
      expect(zou.state.requests.length).toBe(start);
    });

    it('answers 403 as a ZouError for a person outside the project team', async () => {
      const client = loginAs(zou, 'outsider');
      const { ids } = zou.seed;
      const error = await client.getTask(ids.tasks.lightingSh010).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouError);
      expect(error).not.toBeInstanceOf(ZouAuthError);
      expect((error as ZouError).status).toBe(403);
      await expect(client.listProjectTasks(ids.projects.spf)).rejects.toMatchObject({ status: 403 });
      // Their own project works.
      expect((await client.listProjectTasks(ids.projects.moon)).map((t) => t.id).sort()).toEqual(
        [...ids.tasks.moon].sort(),
      );
    });

    it('pages through more than 1,000 tasks and returns each exactly once', async () => {
      const client = clientFor(zou, { concurrency: 4 });
      const big = zou.seed.ids.projects.big ?? '';
      const start = zou.state.requests.length;
      const tasks = await client.listProjectTasks(big);
      const ids = tasks.map((t) => t.id);
      expect(ids).toHaveLength(1_500);
      expect(new Set(ids).size).toBe(1_500);
      expect([...ids].sort()).toEqual([...zou.seed.ids.tasks.big].sort());
      // Only this listing's requests: one a test before left in flight may be logged meanwhile.
      const pages = zou.state.requests
        .slice(start)
        .filter((r) => r.path.endsWith(`/projects/${big}/tasks`))
        .map((r) => r.query);
      expect(pages.sort()).toEqual(Array.from({ length: 15 }, (_, i) => `page=${String(i + 1)}`).sort());
    });

    it('loads 50 tasks and their relations with N + distinct requests, not N x M', async () => {
      // Its own Zou: a request another test left in flight could be logged here in a shuffled order.
      const zou = await ownZou();
      const client = clientFor(zou, { concurrency: 6 });
      const taskIds = zou.seed.ids.tasks.spf.slice(0, 50);
      const rows = taskIds.map((id) => zou.state.tasks.get(id));
      const entityIds = new Set(rows.map((t) => t?.entity_id));
      const parentIds = new Set<string>();
      for (const id of entityIds) {
        for (
          let e = zou.state.entities.get(id ?? '');
          e?.parent_id != null;
          e = zou.state.entities.get(e.parent_id)
        ) {
          parentIds.add(e.parent_id);
        }
      }

      const batch = await client.getTasks([...taskIds, taskIds[0] ?? '', UNKNOWN_ID]);

      const requests = zou.state.requests;
      // 51 task GETs (one unknown) + distinct entities + their parents + 1 project + 3 reference lists.
      expect(requests).toHaveLength(51 + entityIds.size + parentIds.size + 1 + 3);
      expect(requests.length).toBeLessThan(100);
      expect(zou.control.concurrency().max).toBeLessThanOrEqual(6);
      expect(Object.keys(batch.tasks)).toEqual(taskIds);
      expect(batch.missing).toEqual([UNKNOWN_ID]);
      for (const task of Object.values(batch.tasks)) {
        expect(batch.entities[task.entity_id]).toBeDefined();
        expect(batch.projects[task.project_id]?.name).toBe('Spring Festival');
        expect(batch.taskTypes[task.task_type_id]).toBeDefined();
        expect(batch.taskStatuses[task.task_status_id]).toBeDefined();
        for (const personId of task.assignees ?? []) expect(batch.persons[personId]).toBeDefined();
      }
      expect(batch.entities[zou.seed.ids.episodes[0] ?? '']?.name).toBe('E01');
      const referenced = new Set(rows.flatMap((t) => [...(t?.assignees ?? []), t?.assigner_id ?? '']));
      referenced.delete('');
      expect(Object.keys(batch.persons).sort()).toEqual([...referenced].sort());
      expect(referenced).toContain(zou.seed.ids.persons.vendor);
    });

    it('stops loading a batch at the first real error instead of finishing every request', async () => {
      const client = clientFor(zou, { concurrency: 2 });
      const { ids } = zou.seed;
      // The bot is not on Moon Garden's team: its task answers 403.
      const selection = [ids.tasks.moon[0] ?? '', ...ids.tasks.spf];
      const start = zou.state.requests.length;
      const error = await client.getTasks(selection).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouError);
      expect((error as ZouError).status).toBe(403);
      expect(zou.state.requests.length - start).toBeLessThan(10);
    });

    it('sends nothing when the caller has already aborted', async () => {
      const client = clientFor(zou);
      const controller = new AbortController();
      controller.abort(new Error('job cancelled'));
      const start = zou.state.requests.length;
      await expect(
        client.getTasks(zou.seed.ids.tasks.spf.slice(0, 5), { signal: controller.signal }),
      ).rejects.toThrow('job cancelled');
      await expect(
        client.getTask(zou.seed.ids.tasks.lightingSh010, { signal: controller.signal }),
      ).rejects.toThrow('job cancelled');
      expect(zou.state.requests.length).toBe(start);
    });

    it('fails on a body that does not match the schema, naming the field', async () => {
      const own = await ownZou();
      const id = own.seed.ids.tasks.lightingSh010;
      const row = own.state.tasks.get(id);
      if (row === undefined) throw new Error('seed changed');
      (row as unknown as Record<string, unknown>).estimation = 'three days';
      const error = await clientFor(own)
        .getTask(id)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouResponseError);
      expect((error as Error).message).toContain(
        `Zou GET /data/tasks/${id} answered 200 with an unexpected body: estimation:`,
      );
    });
  });

  describe('writes', () => {
    it('comments a task, keeping or changing its status', async () => {
      const own = await ownZou();
      const client = clientFor(own);
      const { ids } = own.seed;
      const task = await client.getTask(ids.tasks.compositingSh010);
      const same = await client.commentTask(task.id, {
        task_status_id: task.task_status_id,
        comment: 'just a note',
      });
      expect(same).toMatchObject({
        object_id: task.id,
        text: 'just a note',
        task_status_id: task.task_status_id,
      });
      await client.commentTask(task.id, { task_status_id: ids.taskStatuses.wfa, comment: 'render done' });
      expect((await client.getTask(task.id)).task_status_id).toBe(ids.taskStatuses.wfa);
      await expect(
        client.commentTask(task.id, { task_status_id: UNKNOWN_ID, comment: 'x' }),
      ).rejects.toMatchObject({ status: 404 });
      expect(own.state.comments).toHaveLength(2);
    });

    it('records 50 comments with one comment-many request', async () => {
      const own = await ownZou();
      const client = clientFor(own);
      const { ids } = own.seed;
      const items = ids.tasks.spf.slice(0, 50).map((id, n) => ({
        object_id: id,
        task_status_id: ids.taskStatuses.wfa,
        comment: `Render ${String(n)} finished`,
      }));
      const comments = await client.commentMany(ids.projects.spf, items);
      expect(comments).toHaveLength(50);
      expect(own.state.comments.map((c) => c.object_id)).toEqual(items.map((i) => i.object_id));
      expect(own.control.requests({ method: 'POST' })).toHaveLength(1);
      expect(own.state.tasks.get(items[49]?.object_id ?? '')?.task_status_id).toBe(ids.taskStatuses.wfa);
    });

    it('manages custom actions as an admin, and is refused as the bot', async () => {
      const own = await ownZou();
      const admin = loginAs(own, 'admin');
      const created = await admin.createCustomAction({
        name: 'Render on farm',
        url: 'https://actions.studio.example/actions/render',
        entity_type: 'shot',
        is_ajax: true,
      });
      expect(created).toMatchObject({ name: 'Render on farm', is_ajax: true, entity_type: 'shot' });
      const updated = await admin.updateCustomAction(created.id, { is_ajax: false });
      expect(updated.is_ajax).toBe(false);
      // A partial update leaves the other fields as they were.
      const renamed = await admin.updateCustomAction(created.id, { name: 'Render lighting' });
      expect(renamed).toMatchObject({ name: 'Render lighting', is_ajax: false, entity_type: 'shot' });
      expect((await admin.listCustomActions()).map((a) => a.id)).toEqual([created.id]);
      await expect(clientFor(own).createCustomAction({ name: 'x', url: 'https://x' })).rejects.toMatchObject({
        status: 403,
      });
      // Zou's column limit, checked before sending: refused here, nothing reaches Zou.
      const posted = own.control.requests({ method: 'POST', path: '/data/custom-actions' }).length;
      expect(posted).toBe(2); // the admin's and the bot's
      await expect(
        admin.createCustomAction({ name: 'x', url: `https://x/${'a'.repeat(400)}` }),
      ).rejects.toThrow(/url.*400/s);
      expect(own.control.requests({ method: 'POST', path: '/data/custom-actions' })).toHaveLength(posted);
      await admin.deleteCustomAction(created.id);
      expect(await admin.listCustomActions()).toEqual([]);
    });

    it('creates and fills playlists, refusing duplicate names with or without an episode', async () => {
      const own = await ownZou();
      const client = clientFor(own);
      const { ids } = own.seed;
      const playlist = await client.createPlaylist({
        name: 'Lighting dailies',
        project_id: ids.projects.spf,
      });
      expect(playlist).toMatchObject({ name: 'Lighting dailies', episode_id: null, for_entity: 'shot' });
      const error = await client
        .createPlaylist({ name: 'lighting dailies', project_id: ids.projects.spf })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouPlaylistExistsError);
      expect((error as ZouPlaylistExistsError).existing.id).toBe(playlist.id);

      const episodic = {
        name: 'Anim review',
        project_id: ids.projects.spf,
        episode_id: ids.episodes[0] ?? '',
      };
      await client.createPlaylist(episodic);
      await expect(client.createPlaylist(episodic)).rejects.toMatchObject({ status: 400 });

      const shot = ids.shots[0] ?? '';
      const preview = own.state.tasks.get(ids.tasks.lightingSh010)?.last_preview_file_id ?? null;
      const filled = await client.updatePlaylist(playlist.id, {
        shots: [{ entity_id: shot, preview_file_id: preview }],
      });
      expect(filled.shots).toEqual([{ entity_id: shot, preview_file_id: preview }]);
    });
  });
});
