import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIG_PROJECT_TASKS, zouTargets } from '@kitsu-actions/testing';
import type { TaskRow, ZouTarget } from '@kitsu-actions/testing';
import { createZouClient } from '../client.ts';
import { TaskFigures } from '../schemas.ts';
import type { ZouClient } from '../client.ts';

// Contract: every read of the client, with paging and relations, answers the seeded production the same
// way on the fake and the real Zou. Only fields no test of the run writes are compared with the seed.

describe.each(zouTargets)('$name: reads', ({ start }) => {
  let zou: ZouTarget;
  let bot: ZouClient;

  /** The seed's row of a task, by its key in `ids.tasks`. */
  const seedTask = (id: string): TaskRow => {
    const row = zou.production.rows.tasks.find((t) => zou.idOf(t.id) === id);
    if (row === undefined) throw new Error(`no seed task ${id}`);
    return row;
  };
  const mapped = (ids: readonly string[]) => ids.map((id) => zou.idOf(id)).sort();

  beforeAll(async () => {
    zou = await start();
    bot = createZouClient({
      baseUrl: zou.url,
      auth: { token: zou.botToken },
      retries: 1,
      retryBaseDelayMs: 50,
    });
  });
  afterAll(async () => {
    await zou.close();
  });

  describe('tasks', () => {
    it('GET /data/tasks/<id>: the seeded task, with its assignees', async () => {
      const id = zou.ids.tasks.lightingSh010;
      const row = seedTask(id);
      const task = await bot.getTask(id);
      expect(task).toMatchObject({
        id,
        name: 'main',
        project_id: zou.ids.projects.spf,
        entity_id: zou.ids.shots[0],
        task_type_id: zou.ids.taskTypes.lighting,
        assignees: [zou.ids.persons.lighter],
        assigner_id: zou.ids.persons.manager,
        estimation: row.estimation,
        start_date: row.start_date,
        due_date: row.due_date,
        type: 'Task',
      });
      expect(task.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    });

    it('leaves assignees out of lists unless ?relations=true, and out of a single GET with ?relations=false', async () => {
      const token = zou.botToken;
      const plain = await zou.call(`/data/tasks?project_id=${zou.ids.projects.spf}`, { token });
      const rows = plain.body as Record<string, unknown>[];
      expect(rows).toHaveLength(57);
      expect(rows.filter((row) => 'assignees' in row)).toEqual([]);
      const related = await zou.call(`/data/tasks?project_id=${zou.ids.projects.spf}&relations=true`, {
        token,
      });
      const lighting = (related.body as { id: string; assignees?: string[] }[]).find(
        (row) => row.id === zou.ids.tasks.lightingSh010,
      );
      expect(lighting?.assignees).toEqual([zou.ids.persons.lighter]);
      const single = await zou.call(`/data/tasks/${zou.ids.tasks.lightingSh010}?relations=false`, { token });
      expect(single.status).toBe(200);
      expect(single.body).not.toHaveProperty('assignees');
    });

    it('GET /data/tasks/<id>/full: the task with its entity, project, type, status, people and parents', async () => {
      const full = await bot.getTaskFull(zou.ids.tasks.lightingSh010);
      expect(full).toMatchObject({
        id: zou.ids.tasks.lightingSh010,
        assignees: [zou.ids.persons.lighter],
        entity: { id: zou.ids.shots[0], name: 'SH010', nb_frames: 48 },
        entity_type: { id: zou.ids.entityTypes.shot, name: 'Shot' },
        project: { id: zou.ids.projects.spf, name: 'Spring Festival' },
        task_type: { id: zou.ids.taskTypes.lighting, name: 'Lighting' },
        sequence: { id: zou.ids.sequences[0], name: 'SQ010' },
        episode: { id: zou.ids.episodes[0], name: 'E01' },
        assigner: { id: zou.ids.persons.manager },
        type: 'Task',
      });
      expect(full.task_status.id).toBe(full.task_status_id);
      expect(full.persons.map((p) => p.id)).toEqual([zou.ids.persons.lighter]);
      expect(full.persons[0]).toMatchObject({ first_name: 'Lena', last_name: 'Becker', role: 'user' });
      // The project comes without its relations there.
      expect(full.project).not.toHaveProperty('team');
      const asset = await bot.getTaskFull(zou.ids.tasks.modelingMei);
      expect(asset.entity).toMatchObject({ id: zou.ids.assets.mei, name: 'Mei' });
      expect(asset).not.toHaveProperty('sequence');
      expect(asset).not.toHaveProperty('episode');
    });

    it('GET /data/tasks/<id>/previews: one per revision, newest first, the newest being the last preview', async () => {
      const row = zou.production.rows.tasks.find(
        (t) =>
          t.project_id === zou.production.ids.projects.spf &&
          t.retake_count >= 1 &&
          t.last_preview_file_id !== null,
      );
      if (row === undefined) throw new Error('the seed has no retaken task with previews');
      const id = zou.idOf(row.id);
      const previews = await bot.getTaskPreviews(id);
      const revisions = zou.production.rows.previewFiles
        .filter((p) => p.task_id === row.id)
        .map((p) => p.revision);
      expect(previews.map((p) => p.revision)).toEqual([...revisions].sort((a, b) => b - a));
      expect(previews.every((p) => p.task_id === id)).toBe(true);
      expect((await bot.getTask(id)).last_preview_file_id).toBe(previews[0]?.id);
      expect(await bot.getTaskPreviews(zou.ids.tasks.big[0] ?? '')).toEqual([]);
    });

    it('answers 404 for an unknown task on every route, and 400 "Malformed ID." on the CRUD one only', async () => {
      const unknown = '00000000-0000-4000-8000-000000000000';
      const notFound = {
        error: true,
        message: expect.stringMatching(
          /^404 Not Found: The requested URL was not found on the server/,
        ) as unknown,
      };
      for (const route of [
        `/data/tasks/${unknown}`,
        `/data/tasks/${unknown}/full`,
        `/data/tasks/${unknown}/previews`,
      ]) {
        expect(await zou.call(route, { token: zou.botToken })).toMatchObject({ status: 404, body: notFound });
      }
      await expect(bot.getTask(unknown)).rejects.toMatchObject({ name: 'ZouError', status: 404 });
      expect(await zou.call('/data/tasks/not-an-id', { token: zou.botToken })).toMatchObject({
        status: 400,
        body: { error: true, message: 'Malformed ID.', data: null },
      });
      expect(await zou.call('/data/tasks/not-an-id/full', { token: zou.botToken })).toMatchObject({
        status: 404,
        body: notFound,
      });
    });
  });

  describe('projects and their tasks', () => {
    it('GET /data/projects/<id>: fps as a string, the resolution, the code and the team', async () => {
      const project = await bot.getProject(zou.ids.projects.spf);
      const seed = zou.production.rows.projects.find((p) => p.id === zou.production.ids.projects.spf);
      expect(project).toMatchObject({
        id: zou.ids.projects.spf,
        name: 'Spring Festival',
        code: 'SPF',
        fps: '25',
        resolution: '1920x1080',
        production_type: 'tvshow',
      });
      expect([...(project.team ?? [])].sort()).toEqual(mapped(seed?.team ?? []));
      expect([...(project.task_types ?? [])].sort()).toEqual(mapped(seed?.task_types ?? []));
    });

    it('GET /data/projects: the projects of the caller, without their team unless ?relations=true', async () => {
      const projects = await bot.listProjects();
      expect(projects.map((p) => p.name).sort()).toEqual(['Big Show', 'Spring Festival']);
      expect(projects.filter((p) => 'team' in p)).toEqual([]);
      const related = await zou.call('/data/projects?relations=true', { token: zou.botToken });
      const spf = (related.body as { id: string; team?: string[] }[]).find(
        (p) => p.id === zou.ids.projects.spf,
      );
      expect(spf?.team).toContain(zou.ids.persons.bot);
    });

    it('GET /data/projects/<id>/tasks?page=N: 100 a page, newest update first, the real total past the end', async () => {
      const big = zou.ids.projects.big ?? '';
      const token = zou.botToken;
      const first = await zou.call(`/data/projects/${big}/tasks?page=1`, { token });
      expect(first.status).toBe(200);
      const body = first.body as Record<string, unknown> & {
        data: { updated_at: string; assignees?: unknown }[];
      };
      expect(Object.keys(body).sort()).toEqual(['data', 'limit', 'nb_pages', 'offset', 'page', 'total']);
      expect(body).toMatchObject({ total: BIG_PROJECT_TASKS, nb_pages: 2, limit: 100, offset: 0, page: 1 });
      expect(body.data).toHaveLength(100);
      const dates = body.data.map((t) => t.updated_at);
      expect([...dates].sort().reverse()).toEqual(dates);
      // The project task list carries the assignees even though it is a list.
      expect(body.data.every((t) => Array.isArray(t.assignees))).toBe(true);
      // `limit` is not read there: still 100 a page.
      const limited = await zou.call(`/data/projects/${big}/tasks?page=2&limit=10`, { token });
      expect(limited.body).toMatchObject({ limit: 100, offset: 100, page: 2 });
      expect((limited.body as { data: unknown[] }).data).toHaveLength(BIG_PROJECT_TASKS - 100);
      const past = await zou.call(`/data/projects/${big}/tasks?page=5`, { token });
      expect(past.body).toEqual({
        data: [],
        total: BIG_PROJECT_TASKS,
        nb_pages: 2,
        limit: 100,
        offset: 400,
        page: 5,
      });
      const all = await zou.call(`/data/projects/${big}/tasks`, { token });
      expect(all.body).toHaveLength(BIG_PROJECT_TASKS);
    });

    it('listProjectTasks() reads every page and returns each task once', async () => {
      const tasks = await bot.listProjectTasks(zou.ids.projects.big ?? '');
      expect(tasks.map((t) => t.id).sort()).toEqual([...zou.ids.tasks.big].sort());
      const lighting = await bot.listProjectTasks(zou.ids.projects.big ?? '', {
        taskTypeId: zou.ids.taskTypes.lighting,
      });
      expect(lighting).toHaveLength(BIG_PROJECT_TASKS / 3);
      expect(lighting.every((t) => t.task_type_id === zou.ids.taskTypes.lighting)).toBe(true);
      const e02 = await bot.listProjectTasks(zou.ids.projects.spf, { episodeId: zou.ids.episodes[1] ?? '' });
      // E02 has one sequence of four shots, four tasks each.
      expect(e02.map((t) => t.id).sort()).toEqual([...zou.ids.tasks.spf.slice(32, 48)].sort());
    });
    it('eachProjectTaskPage() hands each page over as it comes, each task once, counting up to the total', async () => {
      const big = zou.ids.projects.big ?? '';
      const pages: { size: number; received: number; total: number }[] = [];
      const seen: string[] = [];
      const fields = new Set<string>();
      const answer = await bot.eachProjectTaskPage(
        big,
        { concurrency: 1 },
        TaskFigures,
        (tasks, progress) => {
          pages.push({ size: tasks.length, ...progress });
          seen.push(...tasks.map((task) => task.id));
          for (const task of tasks) for (const field of Object.keys(task)) fields.add(field);
        },
      );
      // Read with TaskFigures: what figures need, and nothing else of Zou's task.
      expect(Object.keys(TaskFigures.shape)).toEqual(expect.arrayContaining([...fields]));
      for (const field of ['id', 'task_type_id', 'task_status_id', 'estimation', 'duration', 'due_date']) {
        expect(fields).toContain(field);
      }
      expect(answer).toEqual({ total: BIG_PROJECT_TASKS, received: BIG_PROJECT_TASKS });
      // Zou's pages of 100: the first, then the rest.
      expect(pages).toEqual([
        { size: 100, received: 100, total: BIG_PROJECT_TASKS },
        { size: BIG_PROJECT_TASKS - 100, received: BIG_PROJECT_TASKS, total: BIG_PROJECT_TASKS },
      ]);
      expect(seen.sort()).toEqual([...zou.ids.tasks.big].sort());
    });
  });

  describe('entities', () => {
    it('GET /data/shots/<id>: frames, data.frame_in/frame_out/fps, the sequence as parent', async () => {
      const shot = await bot.getEntity('shot', zou.ids.shots[0] ?? '');
      expect(shot).toMatchObject({
        id: zou.ids.shots[0],
        name: 'SH010',
        type: 'Shot',
        nb_frames: 48,
        parent_id: zou.ids.sequences[0],
        project_id: zou.ids.projects.spf,
        entity_type_id: zou.ids.entityTypes.shot,
        data: { frame_in: 1001, frame_out: 1048, fps: '25' },
      });
      // A few shots hold their frames as strings, as Kitsu's form left them.
      const stringly = await bot.getEntity('shot', zou.ids.shots[4] ?? '');
      expect(stringly.data).toMatchObject({ frame_in: '1001', frame_out: '1060', fps: '25' });
    });

    it('GET /data/{sequences,episodes,assets,entities}/<id>: each kind, with the base type name', async () => {
      expect(await bot.getEntity('sequence', zou.ids.sequences[0] ?? '')).toMatchObject({
        name: 'SQ010',
        type: 'Sequence',
        parent_id: zou.ids.episodes[0],
        nb_frames: null,
      });
      expect(await bot.getEntity('episode', zou.ids.episodes[1] ?? '')).toMatchObject({
        name: 'E02',
        type: 'Episode',
        parent_id: null,
      });
      const mei = await bot.getEntity('asset', zou.ids.assets.mei);
      expect(mei).toMatchObject({
        name: 'Mei',
        type: 'Asset',
        description: 'Main character, 8 years old',
        entity_type_id: zou.ids.assetTypes.character,
        parent_id: null,
        // `/data/assets/<id>` answers no nb_frames and "" for no preview: the schema reads null for both.
        nb_frames: null,
        preview_file_id: null,
      });
      const raw = await zou.call(`/data/assets/${zou.ids.assets.mei}`, { token: zou.botToken });
      expect(raw.body).not.toHaveProperty('nb_frames');
      expect(raw.body).toMatchObject({ preview_file_id: '' });
      for (const [id, type] of [
        [zou.ids.shots[0], 'Shot'],
        [zou.ids.sequences[0], 'Sequence'],
        [zou.ids.episodes[0], 'Episode'],
        [zou.ids.assets.dragon, 'Asset'],
      ] as const) {
        expect(await bot.getEntity('entity', id ?? '')).toMatchObject({ id, type });
      }
    });

    it('answers 404 when the id is of another kind', async () => {
      await expect(bot.getEntity('shot', zou.ids.assets.mei)).rejects.toMatchObject({
        name: 'ZouError',
        status: 404,
      });
      await expect(bot.getEntity('asset', zou.ids.shots[0] ?? '')).rejects.toMatchObject({ status: 404 });
      await expect(bot.getEntity('sequence', zou.ids.shots[0] ?? '')).rejects.toMatchObject({ status: 404 });
      await expect(bot.getEntity('episode', zou.ids.sequences[0] ?? '')).rejects.toMatchObject({
        status: 404,
      });
    });

    it('getTasks() loads tasks with their entities, parents, projects, types, statuses and people', async () => {
      const ids = [
        zou.ids.tasks.lightingSh010,
        zou.ids.tasks.modelingMei,
        '00000000-0000-4000-8000-000000000000',
      ];
      const batch = await bot.getTasks(ids);
      expect(Object.keys(batch.tasks).sort()).toEqual(ids.slice(0, 2).sort());
      expect(batch.missing).toEqual([ids[2]]);
      expect(Object.keys(batch.entities).sort()).toEqual(
        [zou.ids.shots[0], zou.ids.sequences[0], zou.ids.episodes[0], zou.ids.assets.mei].sort(),
      );
      expect(Object.keys(batch.projects)).toEqual([zou.ids.projects.spf]);
      expect(Object.keys(batch.taskTypes).sort()).toEqual(
        [zou.ids.taskTypes.lighting, zou.ids.taskTypes.modeling].sort(),
      );
      expect(Object.keys(batch.persons).sort()).toEqual(
        [zou.ids.persons.lighter, zou.ids.persons.artist, zou.ids.persons.manager].sort(),
      );
    });
  });

  describe('studio lists', () => {
    it('GET /data/task-types: the seeded types, with their short names and what they are for', async () => {
      const types = await bot.listTaskTypes();
      for (const row of zou.production.rows.taskTypes) {
        expect(types.find((t) => t.id === zou.idOf(row.id))).toMatchObject({
          name: row.name,
          short_name: row.short_name,
          for_entity: row.for_entity,
          priority: row.priority,
        });
      }
    });

    it('GET /data/task-status: the seeded statuses, with their flags', async () => {
      const statuses = await bot.listTaskStatuses();
      for (const row of zou.production.rows.taskStatuses) {
        expect(statuses.find((s) => s.id === zou.idOf(row.id))).toMatchObject({
          name: row.name,
          short_name: row.short_name,
          is_done: row.is_done,
          is_retake: row.is_retake,
          is_wip: row.is_wip,
          is_feedback_request: row.is_feedback_request,
          is_artist_allowed: row.is_artist_allowed,
          is_client_allowed: row.is_client_allowed,
        });
      }
    });

    it('GET /data/persons: everyone, without emails for a non-admin; with them for an admin', async () => {
      const everyone = Object.values(zou.ids.persons);
      const minimal = await bot.listPersons();
      expect(minimal.map((p) => p.id)).toEqual(expect.arrayContaining(everyone));
      expect(minimal.filter((p) => 'email' in p)).toEqual([]);
      expect(minimal.find((p) => p.id === zou.ids.persons.vendor)).toMatchObject({
        first_name: 'Ravi',
        last_name: 'Menon',
        full_name: 'Ravi Menon',
        role: 'vendor',
        is_bot: false,
        active: true,
      });
      const admin = createZouClient({ baseUrl: zou.url, auth: { token: await zou.sessionToken('admin') } });
      const full = await admin.listPersons();
      expect(full.find((p) => p.id === zou.ids.persons.vendor)).toMatchObject({
        email: zou.logins.vendor.email,
      });
      expect(full.find((p) => p.id === zou.ids.persons.bot)).toMatchObject({ is_bot: true, email: null });
    });
  });

  describe('time spents', () => {
    it("GET /data/projects/<id>/time-spents: one unpaged list; each task's entries add up to its duration", async () => {
      const entries = await bot.listProjectTimeSpents(zou.ids.projects.spf);
      expect(entries.length).toBeGreaterThan(0);
      const spf = new Set(zou.ids.tasks.spf);
      expect(entries.filter((e) => !spf.has(e.task_id))).toEqual([]);
      const byTask = new Map<string, number>();
      for (const entry of entries) {
        expect(entry.date).toMatch(/^\d{4}-\d\d-\d\d$/);
        expect(entry.person_id).toBe(seedTask(entry.task_id).assignees.map((id) => zou.idOf(id))[0]);
        byTask.set(entry.task_id, (byTask.get(entry.task_id) ?? 0) + entry.duration);
      }
      for (const [taskId, minutes] of byTask) expect(minutes).toBe(seedTask(taskId).duration);
      const paged = await zou.call(`/data/projects/${zou.ids.projects.spf}/time-spents?page=1`, {
        token: zou.botToken,
      });
      expect(paged.body).toHaveLength(entries.length);
      expect(await bot.listProjectTimeSpents(zou.ids.projects.big ?? '')).toEqual([]);
    });

    it('GET /actions/tasks/<id>/time-spents: grouped by person with their total, read as the list', async () => {
      const entries = await bot.listProjectTimeSpents(zou.ids.projects.spf);
      const taskId = entries[0]?.task_id ?? '';
      const mine = entries.filter((e) => e.task_id === taskId);
      const listed = await bot.listTaskTimeSpents(taskId);
      expect(listed.map((e) => e.id).sort()).toEqual(mine.map((e) => e.id).sort());
      const raw = await zou.call(`/actions/tasks/${taskId}/time-spents`, { token: zou.botToken });
      const person = mine[0]?.person_id ?? '';
      expect(Object.keys(raw.body as object).sort()).toEqual(['total', person].sort());
      expect(raw.body).toMatchObject({ total: seedTask(taskId).duration });
      expect(await bot.listTaskTimeSpents(zou.ids.tasks.big[0] ?? '')).toEqual([]);
    });
  });
});
