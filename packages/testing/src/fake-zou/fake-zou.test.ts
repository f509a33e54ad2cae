import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSeed, startFakeZou } from './index.ts';
import type { FakeZou } from './index.ts';

interface CallOptions {
  method?: string;
  token?: string;
  cookie?: string;
  body?: unknown;
  contentType?: string;
}

async function call(zou: FakeZou, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers.cookie = `access_token_cookie=${options.cookie}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const res = await fetch(`${zou.url}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json as Record<string, unknown> & unknown[], headers: res.headers };
}

const idsOf = (body: unknown) => (body as { id: string }[]).map((row) => row.id);

describe('fake Zou seed', () => {
  it('is deterministic and has the production the tests rely on', () => {
    const a = buildSeed();
    const b = buildSeed();
    expect(a).toEqual(b);
    expect(a.ids.shots).toHaveLength(12);
    expect(Object.keys(a.ids.assets)).toHaveLength(6);
    expect(a.ids.episodes).toHaveLength(2);
    expect(a.ids.sequences).toHaveLength(3);
    expect(a.ids.tasks.spf).toHaveLength(57);
    expect(new Set(a.rows.persons.map((p) => p.role))).toEqual(
      new Set(['admin', 'manager', 'supervisor', 'user', 'client', 'vendor']),
    );
    expect(a.rows.persons.filter((p) => p.is_bot).map((p) => p.id)).toEqual([a.ids.persons.bot]);
    const spf = a.rows.projects.find((p) => p.id === a.ids.projects.spf);
    expect(spf).toMatchObject({ name: 'Spring Festival', code: 'SPF', fps: '25', resolution: '1920x1080' });
    const moon = a.rows.projects.find((p) => p.id === a.ids.projects.moon);
    expect(moon?.team).not.toContain(a.ids.persons.artist);
    const shot = a.rows.entities.find((e) => e.id === a.ids.shots[0]);
    expect(shot).toMatchObject({ type: 'Shot', name: 'SH010', parent_id: a.ids.sequences[0], nb_frames: 48 });
    expect(shot?.data).toMatchObject({ frame_in: 1001, frame_out: 1048, fps: '25' });
    const lighting = a.rows.tasks.find((t) => t.id === a.ids.tasks.lightingSh010);
    expect(lighting).toMatchObject({ task_type_id: a.ids.taskTypes.lighting, entity_id: a.ids.shots[0] });
    expect(a.rows.tasks.find((t) => t.id === a.ids.tasks.vendorCompositing)?.assignees).toEqual([
      a.ids.persons.vendor,
    ]);
  });

  it('builds a big project on request', () => {
    const seed = buildSeed({ bigProject: { tasks: 1234 } });
    expect(seed.ids.tasks.big).toHaveLength(1234);
    expect(new Set(seed.ids.tasks.big).size).toBe(1234);
    expect(seed.ids.projects.big).not.toBeNull();
  });
});

describe('fake Zou HTTP', () => {
  let zou: FakeZou;
  let bot: string;
  let admin: string;
  let artist: string;
  let outsider: string;
  let vendor: string;

  beforeAll(async () => {
    zou = await startFakeZou({ bigProject: { tasks: 250 } });
    const { persons } = zou.seed.ids;
    bot = zou.seed.botToken;
    admin = zou.control.issueToken(persons.admin);
    artist = zou.control.issueToken(persons.artist);
    outsider = zou.control.issueToken(persons.outsider);
    vendor = zou.control.issueToken(persons.vendor);
  });
  afterAll(async () => {
    await zou.close();
  });

  describe('auth', () => {
    it('logs in with email and password, then accepts the access token and refreshes it', async () => {
      const { email, password } = zou.seed.logins.manager;
      const login = await call(zou, '/auth/login', { method: 'POST', body: { email, password } });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({
        login: true,
        user: { id: zou.seed.ids.persons.manager, role: 'manager' },
      });
      const access = String(login.body.access_token);
      const refresh = String(login.body.refresh_token);
      expect(access.split('.')).toHaveLength(3);
      expect((await call(zou, '/auth/authenticated', { token: access })).body).toMatchObject({
        authenticated: true,
        user: { email },
      });
      const refreshed = await call(zou, '/auth/refresh-token', { token: refresh });
      expect(refreshed.status).toBe(200);
      expect(Object.keys(refreshed.body)).toEqual(['access_token']);
      // A refresh token is not an access token, and the other way round (flask-jwt-extended: 422).
      expect((await call(zou, '/auth/authenticated', { token: refresh })).status).toBe(422);
      expect((await call(zou, '/auth/refresh-token', { token: access })).status).toBe(422);
    });

    it('refuses a wrong or missing password with 400 login:false, a missing email with a validation error', async () => {
      const wrong = await call(zou, '/auth/login', {
        method: 'POST',
        body: { email: zou.seed.logins.artist.email, password: 'nope' },
      });
      expect(wrong).toMatchObject({
        status: 400,
        body: { login: false, message: 'Wrong email or password.' },
      });
      const noPassword = await call(zou, '/auth/login', { method: 'POST', body: { email: 'x@y.z' } });
      expect(noPassword).toMatchObject({
        status: 400,
        body: { login: false, message: 'Wrong email or password.' },
      });
      const missing = await call(zou, '/auth/login', { method: 'POST', body: {} });
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({
        error: true,
        message: 'Validation error.',
        data: { errors: [{ field: 'email', message: 'Field required' }] },
      });
    });

    it('answers 401 without a token, 422 for a malformed or badly signed one, 401 for an expired one', async () => {
      const none = await call(zou, '/data/task-types');
      expect(none.status).toBe(401);
      // flask-jwt-extended's own answers carry `msg`, not Zou's `{ error, message }`.
      expect(none.body).toEqual({
        msg: 'Missing JWT in cookies or headers (Missing cookie "access_token_cookie"; Missing Authorization Header)',
      });
      expect((await call(zou, '/data/task-types', { token: 'not-a-jwt' })).status).toBe(422);
      expect((await call(zou, '/data/task-types', { token: 'aaa.bbb.ccc' })).status).toBe(422);
      const [header, payload] = artist.split('.');
      const forged = await call(zou, '/data/task-types', { token: `${header}.${payload}.c2lnbmF0dXJl` });
      expect(forged).toMatchObject({ status: 422, body: { msg: 'Signature verification failed' } });
      const expired = zou.control.issueToken(zou.seed.ids.persons.artist, { ttlMs: 0 });
      expect(await call(zou, '/data/task-types', { token: expired })).toMatchObject({
        status: 401,
        body: { error: true, message: 'Signature has expired' },
      });
    });

    it('reads the access_token_cookie first, then the bearer', async () => {
      const cookieOnly = await call(zou, '/auth/authenticated', { cookie: artist });
      expect(cookieOnly.body).toMatchObject({ user: { id: zou.seed.ids.persons.artist } });
      const both = await call(zou, '/auth/authenticated', { cookie: artist, token: admin });
      expect(both.body).toMatchObject({ user: { id: zou.seed.ids.persons.artist } });
      const badCookie = await call(zou, '/auth/authenticated', { cookie: 'x.y.z', token: admin });
      expect(badCookie.status).toBe(422);
    });

    it('expireAll expires sessions but not the bot token; revoked tokens get 401', async () => {
      const own = await startFakeZou();
      try {
        const session = own.control.issueToken(own.seed.ids.persons.artist);
        expect((await call(own, '/data/task-types', { token: session })).status).toBe(200);
        own.control.expireAll();
        expect((await call(own, '/data/task-types', { token: session })).status).toBe(401);
        expect((await call(own, '/data/task-types', { token: own.seed.botToken })).status).toBe(200);
        const other = own.control.issueToken(own.seed.ids.persons.artist);
        own.control.revokeToken(other);
        expect(await call(own, '/data/task-types', { token: other })).toMatchObject({
          status: 401,
          body: { msg: 'Token has been revoked' },
        });
      } finally {
        await own.close();
      }
    });
  });

  describe('reads', () => {
    it('answers 400 "Malformed ID." for a non-UUID and 404 for an unknown id', async () => {
      const malformed = await call(zou, '/data/tasks/not-a-uuid', { token: bot });
      expect(malformed).toMatchObject({ status: 400, body: { error: true, message: 'Malformed ID.' } });
      const unknown = await call(zou, '/data/tasks/00000000-0000-4000-8000-000000000000', { token: bot });
      expect(unknown).toMatchObject({ status: 404, body: { error: true } });
      // Each entity route reads its own type.
      const assetAsShot = await call(zou, `/data/shots/${zou.seed.ids.assets.mei}`, { token: bot });
      expect(assetAsShot.status).toBe(404);
      expect((await call(zou, `/data/assets/${zou.seed.ids.assets.mei}`, { token: bot })).status).toBe(200);
    });

    it('answers 403 to a person outside the project team, even a manager; admins see everything', async () => {
      const { ids } = zou.seed;
      expect((await call(zou, `/data/tasks/${ids.tasks.lightingSh010}`, { token: outsider })).status).toBe(
        403,
      );
      expect((await call(zou, `/data/projects/${ids.projects.spf}`, { token: outsider })).status).toBe(403);
      expect((await call(zou, `/data/projects/${ids.projects.spf}/tasks`, { token: outsider })).status).toBe(
        403,
      );
      expect((await call(zou, `/data/shots/${ids.shots[0] ?? ''}`, { token: outsider })).status).toBe(403);
      // The bot is a manager on Spring Festival only.
      expect((await call(zou, `/data/tasks/${ids.tasks.moon[0] ?? ''}`, { token: bot })).status).toBe(403);
      // The admin is on no team.
      expect((await call(zou, `/data/tasks/${ids.tasks.moon[0] ?? ''}`, { token: admin })).status).toBe(200);
    });

    it('lists never 403: they omit what the caller cannot see', async () => {
      const { ids } = zou.seed;
      const projects = await call(zou, '/data/projects', { token: outsider });
      expect(projects.status).toBe(200);
      expect(idsOf(projects.body)).toEqual([ids.projects.moon]);
      const vendorTasks = await call(zou, '/data/tasks', { token: vendor });
      expect(idsOf(vendorTasks.body).sort()).toEqual(
        zou.seed.rows.tasks
          .filter((t) => t.assignees.includes(ids.persons.vendor))
          .map((t) => t.id)
          .sort(),
      );
      // Vendors see only entities they hold a task on.
      expect((await call(zou, `/data/tasks/${ids.tasks.lightingSh010}`, { token: vendor })).status).toBe(403);
      expect((await call(zou, `/data/shots/${ids.shots[0] ?? ''}`, { token: vendor })).status).toBe(403);
      expect((await call(zou, `/data/shots/${ids.shots[10] ?? ''}`, { token: vendor })).status).toBe(200);
    });

    it('leaves relations out of lists unless ?relations=true; single GETs include them', async () => {
      const { ids } = zou.seed;
      const list = await call(zou, `/data/tasks?project_id=${ids.projects.spf}`, { token: bot });
      expect(list.body).toHaveLength(57);
      expect(list.body[0]).not.toHaveProperty('assignees');
      const withRelations = await call(zou, `/data/tasks?project_id=${ids.projects.spf}&relations=true`, {
        token: bot,
      });
      expect(withRelations.body[0]).toHaveProperty('assignees');
      const byId = await call(zou, `/data/tasks?id=${ids.tasks.lightingSh010}`, { token: bot });
      expect(idsOf(byId.body)).toEqual([ids.tasks.lightingSh010]);
      const projects = await call(zou, '/data/projects', { token: admin });
      expect(projects.body[0]).not.toHaveProperty('team');
      const project = await call(zou, `/data/projects/${ids.projects.spf}`, { token: bot });
      expect(project.body).toMatchObject({ fps: '25', resolution: '1920x1080', code: 'SPF' });
      expect(project.body.team).toContain(ids.persons.bot);
      const task = await call(zou, `/data/tasks/${ids.tasks.lightingSh010}`, { token: bot });
      expect(task.body.assignees).toEqual([ids.persons.lighter]);
    });

    it('sends non-admins a minimal person list, without emails', async () => {
      const asBot = await call(zou, '/data/persons', { token: bot });
      const kenji = (asBot.body as Record<string, unknown>[]).find(
        (p) => p.id === zou.seed.ids.persons.artist,
      );
      expect(kenji).toMatchObject({ full_name: 'Kenji Sato', role: 'user', is_bot: false });
      expect(kenji).not.toHaveProperty('email');
      const asAdmin = await call(zou, '/data/persons', { token: admin });
      const kenjiForAdmin = (asAdmin.body as Record<string, unknown>[]).find(
        (p) => p.id === zou.seed.ids.persons.artist,
      );
      expect(kenjiForAdmin).toMatchObject({ email: zou.seed.logins.artist.email });
    });

    it('pages project tasks like Zou: newest update first, no is_more, the real total past the end', async () => {
      const big = zou.seed.ids.projects.big ?? '';
      const first = await call(zou, `/data/projects/${big}/tasks?page=1`, { token: bot });
      expect(Object.keys(first.body).sort()).toEqual([
        'data',
        'limit',
        'nb_pages',
        'offset',
        'page',
        'total',
      ]);
      expect(first.body).toMatchObject({ total: 250, nb_pages: 3, limit: 100, offset: 0, page: 1 });
      const data = first.body.data as { updated_at: string }[];
      expect(data).toHaveLength(100);
      const dates = data.map((t) => t.updated_at);
      expect([...dates].sort().reverse()).toEqual(dates);
      expect(data[0]).toHaveProperty('assignees');
      const last = await call(zou, `/data/projects/${big}/tasks?page=3`, { token: bot });
      expect(last.body.data).toHaveLength(50);
      const past = await call(zou, `/data/projects/${big}/tasks?page=5`, { token: bot });
      // Past the last page the envelope still counts the whole list.
      expect(past.body).toMatchObject({ data: [], total: 250, nb_pages: 3, page: 5 });
      const all = await call(zou, `/data/projects/${big}/tasks`, { token: bot });
      expect(all.body).toHaveLength(250);
    });

    it('serves full tasks with relations inlined, and previews newest first', async () => {
      const { ids } = zou.seed;
      const full = await call(zou, `/data/tasks/${ids.tasks.lightingSh010}/full`, { token: bot });
      expect(full.status).toBe(200);
      expect(full.body).toMatchObject({
        id: ids.tasks.lightingSh010,
        entity: { id: ids.shots[0], nb_frames: 48 },
        project: { id: ids.projects.spf, fps: '25' },
        task_type: { name: 'Lighting' },
        sequence: { id: ids.sequences[0] },
        episode: { id: ids.episodes[0] },
      });
      expect((full.body.persons as { id: string }[]).map((p) => p.id)).toEqual([ids.persons.lighter]);
      const withPreviews = zou.seed.rows.tasks.find(
        (t) => t.retake_count > 0 && t.last_preview_file_id !== null,
      );
      const previews = await call(zou, `/data/tasks/${withPreviews?.id ?? ''}/previews`, { token: bot });
      const revisions = (previews.body as { revision: number }[]).map((p) => p.revision);
      expect(revisions.length).toBeGreaterThan(1);
      expect([...revisions].sort((a, b) => b - a)).toEqual(revisions);
      expect((previews.body[0] as { id: string }).id).toBe(withPreviews?.last_preview_file_id);
    });
  });

  describe('writes', () => {
    it('validates comments like Zou: 400 without task_status_id, 404 for an unknown status', async () => {
      const { ids } = zou.seed;
      const path = `/actions/tasks/${ids.tasks.animationSh010}/comment`;
      const before = zou.state.comments.length;
      expect((await call(zou, path, { method: 'POST', token: bot, body: { comment: 'hi' } })).status).toBe(
        400,
      );
      const unknown = await call(zou, path, {
        method: 'POST',
        token: bot,
        body: { task_status_id: '00000000-0000-4000-8000-000000000000', comment: 'hi' },
      });
      expect(unknown.status).toBe(404);
      expect(zou.state.comments.length).toBe(before);
      const ok = await call(zou, path, {
        method: 'POST',
        token: bot,
        body: { task_status_id: ids.taskStatuses.wfa, comment: 'Render ready' },
      });
      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({
        object_id: ids.tasks.animationSh010,
        text: 'Render ready',
        person_id: ids.persons.bot,
      });
      expect(zou.state.tasks.get(ids.tasks.animationSh010)?.task_status_id).toBe(ids.taskStatuses.wfa);
      expect(zou.state.comments.at(-1)).toMatchObject({ text: 'Render ready' });
    });

    it('lets an artist comment their own task but not set it to Done', async () => {
      const { ids } = zou.seed;
      const path = `/actions/tasks/${ids.tasks.layoutSh010}/comment`;
      const done = await call(zou, path, {
        method: 'POST',
        token: artist,
        body: { task_status_id: ids.taskStatuses.done, comment: 'done?' },
      });
      expect(done.status).toBe(403);
      const wip = await call(zou, path, {
        method: 'POST',
        token: artist,
        body: { task_status_id: ids.taskStatuses.wip, comment: 'on it' },
      });
      expect(wip.status).toBe(201);
    });

    it('records 50 comments from one comment-many request', async () => {
      const { ids } = zou.seed;
      const own = await startFakeZou();
      try {
        const items = own.seed.ids.tasks.spf.slice(0, 50).map((id, n) => ({
          object_id: id,
          task_status_id: ids.taskStatuses.wip,
          comment: `batch ${String(n)}`,
        }));
        const res = await call(own, `/actions/projects/${ids.projects.spf}/tasks/comment-many`, {
          method: 'POST',
          token: own.seed.botToken,
          body: items,
        });
        expect(res.status).toBe(201);
        expect(res.body).toHaveLength(50);
        expect(own.state.comments.map((c) => c.object_id)).toEqual(items.map((i) => i.object_id));
        expect(own.control.requests({ path: /comment-many$/ })).toHaveLength(1);
      } finally {
        await own.close();
      }
    });

    it('keeps custom actions admin-only, with url at most 400 characters', async () => {
      const body = {
        name: 'Render',
        url: 'https://actions.example/a/render',
        entity_type: 'shot',
        is_ajax: true,
      };
      expect((await call(zou, '/data/custom-actions', { method: 'POST', token: bot, body })).status).toBe(
        403,
      );
      const tooLong = { ...body, url: `https://x.example/${'a'.repeat(400)}` };
      expect(
        (await call(zou, '/data/custom-actions', { method: 'POST', token: admin, body: tooLong })).status,
      ).toBe(400);
      const notJson = await call(zou, '/data/custom-actions', {
        method: 'POST',
        token: admin,
        body: JSON.stringify(body),
        contentType: 'text/plain',
      });
      expect(notJson.status).toBe(415);
      const created = await call(zou, '/data/custom-actions', { method: 'POST', token: admin, body });
      expect(created.status).toBe(201);
      const id = String(created.body.id);
      const list = await call(zou, '/data/custom-actions', { token: bot });
      expect(idsOf(list.body)).toContain(id);
      expect((await call(zou, '/data/custom-actions', { token: vendor })).status).toBe(403);
      const updated = await call(zou, `/data/custom-actions/${id}`, {
        method: 'PUT',
        token: admin,
        body: { is_ajax: false },
      });
      expect(updated.body).toMatchObject({ id, is_ajax: false, name: 'Render' });
      expect((await call(zou, `/data/custom-actions/${id}`, { method: 'DELETE', token: admin })).status).toBe(
        204,
      );
      expect(zou.state.customActions.has(id)).toBe(false);
    });

    it('refuses a duplicate playlist name in the same episode, but not without an episode (like Zou)', async () => {
      const { ids } = zou.seed;
      const base = { name: 'Dailies 03-12', project_id: ids.projects.spf, for_entity: 'shot' };
      const withEpisode = { ...base, episode_id: ids.episodes[0] };
      expect(
        (await call(zou, '/data/playlists', { method: 'POST', token: bot, body: withEpisode })).status,
      ).toBe(201);
      const duplicate = await call(zou, '/data/playlists', { method: 'POST', token: bot, body: withEpisode });
      // A database error of Zou's CRUD: `{ message }` alone.
      expect(duplicate).toMatchObject({
        status: 400,
        body: { message: 'A record with the same unique values already exists.' },
      });
      const otherEpisode = { ...base, episode_id: ids.episodes[1] };
      expect(
        (await call(zou, '/data/playlists', { method: 'POST', token: bot, body: otherEpisode })).status,
      ).toBe(201);
      expect((await call(zou, '/data/playlists', { method: 'POST', token: bot, body: base })).status).toBe(
        201,
      );
      expect((await call(zou, '/data/playlists', { method: 'POST', token: bot, body: base })).status).toBe(
        201,
      );
      expect((await call(zou, '/data/playlists', { method: 'POST', token: artist, body: base })).status).toBe(
        403,
      );
    });
  });

  describe('faults', () => {
    it('fails the next n matching requests, with Retry-After and an nginx page for 503', async () => {
      const own = await startFakeZou();
      try {
        const token = own.seed.botToken;
        own.control.failNext(2, 503, { path: '/data/task-types', retryAfter: 3 });
        const first = await call(own, '/data/task-types', { token });
        expect(first.status).toBe(503);
        expect(first.headers.get('retry-after')).toBe('3');
        expect(String(first.body)).toContain('503 Service Temporarily Unavailable');
        // Other routes are not affected.
        expect((await call(own, '/data/task-status', { token })).status).toBe(200);
        expect((await call(own, '/data/task-types', { token })).status).toBe(503);
        expect((await call(own, '/data/task-types', { token })).status).toBe(200);
        expect(own.control.requests({ path: '/data/task-types' }).map((r) => [r.status, r.injected])).toEqual(
          [
            [503, true],
            [503, true],
            [200, false],
          ],
        );
      } finally {
        await own.close();
      }
    });

    it('refuses connections, then accepts them again on the same port', async () => {
      const own = await startFakeZou();
      try {
        await own.control.refuseConnections();
        const error: unknown = await fetch(`${own.url}/data/task-types`).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TypeError);
        expect(String((error as TypeError & { cause?: { code?: string } }).cause?.code)).toBe('ECONNREFUSED');
        await own.control.acceptConnections();
        expect((await call(own, '/data/task-types', { token: own.seed.botToken })).status).toBe(200);
      } finally {
        await own.close();
      }
    });

    it('serves a bare Zou without the /api prefix', async () => {
      const bare = await startFakeZou({ prefix: '' });
      try {
        expect(bare.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect((await call(bare, '/data/task-types', { token: bare.seed.botToken })).status).toBe(200);
      } finally {
        await bare.close();
      }
    });
  });
});
