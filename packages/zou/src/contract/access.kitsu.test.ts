import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zouTargets } from '@kitsu-actions/testing';
import type { HumanKey, ZouTarget } from '@kitsu-actions/testing';
import { sessionClients } from './sessions.ts';

// Contract: who may read what. Zou's rule: only admins see every project; everyone else, managers
// included, must be on the team (403 on single reads, lists leave the rest out); vendors read only the
// entities they hold a task on; clients read tasks with the studio's fields blanked.

const FORBIDDEN = { name: 'ZouError', status: 403 };

describe.each(zouTargets)('$name: access rules', ({ start }) => {
  let zou: ZouTarget;

  /** A client logged in as that person (through a session token from their login). */
  const as = sessionClients(() => zou);
  const tokenOf = async (who: HumanKey | 'bot') => (who === 'bot' ? zou.botToken : zou.sessionToken(who));

  beforeAll(async () => {
    zou = await start();
  });
  afterAll(async () => {
    await zou.close();
  });

  describe('not on the team', () => {
    it.each(['outsider', 'producer'] as const)(
      '%s: 403 on every single read of Spring Festival',
      async (who) => {
        const client = await as(who);
        const { ids } = zou;
        await expect(client.getProject(ids.projects.spf)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.getTask(ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.getTaskFull(ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.getTaskPreviews(ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.getEntity('shot', ids.shots[0] ?? '')).rejects.toMatchObject(FORBIDDEN);
        await expect(client.getEntity('entity', ids.assets.mei)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.getEntity('asset', ids.assets.mei)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.listProjectTasks(ids.projects.spf)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.listProjectTimeSpents(ids.projects.spf)).rejects.toMatchObject(FORBIDDEN);
        await expect(client.listTaskTimeSpents(ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
      },
    );

    it.each(['outsider', 'producer'] as const)(
      '%s: lists never 403, they leave Spring Festival out',
      async (who) => {
        const client = await as(who);
        const projects = await client.listProjects();
        expect(projects.map((p) => p.name)).toEqual(who === 'outsider' ? ['Moon Garden'] : []);
        const tasks = await zou.call(`/data/tasks?project_id=${zou.ids.projects.spf}`, {
          token: await tokenOf(who),
        });
        expect(tasks).toMatchObject({ status: 200, body: [] });
        // The studio-wide lists are open to everyone.
        expect((await client.listTaskTypes()).length).toBeGreaterThanOrEqual(6);
        expect((await client.listPersons()).length).toBeGreaterThanOrEqual(
          Object.keys(zou.ids.persons).length,
        );
      },
    );

    it("a user on another team reads that team's project only", async () => {
      const outsider = await as('outsider');
      const moonTask = zou.ids.tasks.moon[0] ?? '';
      expect(await outsider.getTask(moonTask)).toMatchObject({
        id: moonTask,
        project_id: zou.ids.projects.moon,
      });
      expect(await outsider.getProject(zou.ids.projects.moon)).toMatchObject({ name: 'Moon Garden' });
      const bot = await as('bot');
      await expect(bot.getTask(moonTask)).rejects.toMatchObject(FORBIDDEN);
      await expect(bot.getProject(zou.ids.projects.moon)).rejects.toMatchObject(FORBIDDEN);
    });
  });

  describe('on the team', () => {
    it.each(['manager', 'supervisor', 'artist', 'lighter', 'bot'] as const)(
      '%s reads every task, entity and the project',
      async (who) => {
        const client = await as(who);
        const { ids } = zou;
        expect(await client.getTask(ids.tasks.compositingSh010)).toMatchObject({
          assignees: [ids.persons.lighter],
        });
        expect(await client.getTaskFull(ids.tasks.riggingMei)).toMatchObject({
          entity: { id: ids.assets.mei },
        });
        expect(await client.getEntity('sequence', ids.sequences[2] ?? '')).toMatchObject({ name: 'SQ010' });
        expect(await client.getProject(ids.projects.spf)).toMatchObject({ name: 'Spring Festival' });
        expect(await client.listProjectTasks(ids.projects.spf)).toHaveLength(57);
      },
    );
  });

  describe('admin', () => {
    it('reads every project without being on any team', async () => {
      const admin = await as('admin');
      expect((await admin.listProjects()).map((p) => p.name)).toEqual(
        expect.arrayContaining(['Big Show', 'Moon Garden', 'Spring Festival']),
      );
      expect(await admin.getTask(zou.ids.tasks.moon[0] ?? '')).toMatchObject({
        project_id: zou.ids.projects.moon,
      });
      expect(await admin.getEntity('shot', zou.ids.moonShots[0] ?? '')).toMatchObject({ name: 'SH01' });
      expect(await admin.listProjectTasks(zou.ids.projects.moon)).toHaveLength(3);
    });
  });

  describe('vendor', () => {
    it('reads the entities they hold a task on, and every task of those, but not their parents', async () => {
      const vendor = await as('vendor');
      const { ids } = zou;
      const shot = ids.shots[10] ?? '';
      expect(await vendor.getTask(ids.tasks.vendorCompositing)).toMatchObject({ entity_id: shot });
      // Zou checks the entity, not the task: the other tasks of that shot are readable too.
      const layout = ids.tasks.spf[40] ?? '';
      expect(await vendor.getTask(layout)).toMatchObject({
        entity_id: shot,
        task_type_id: ids.taskTypes.layout,
      });
      expect(await vendor.getEntity('shot', shot)).toMatchObject({ name: 'SH030' });
      expect(await vendor.getTaskFull(ids.tasks.vendorCompositing)).toMatchObject({ entity: { id: shot } });
      await expect(vendor.getEntity('sequence', ids.sequences[2] ?? '')).rejects.toMatchObject(FORBIDDEN);
      await expect(vendor.getEntity('episode', ids.episodes[1] ?? '')).rejects.toMatchObject(FORBIDDEN);
      await expect(vendor.getEntity('shot', ids.shots[0] ?? '')).rejects.toMatchObject(FORBIDDEN);
      await expect(vendor.getTask(ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
      await expect(vendor.getTaskPreviews(ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
      // The project itself is readable: the vendor is on its team.
      expect(await vendor.getProject(ids.projects.spf)).toMatchObject({ name: 'Spring Festival' });
    });

    it('lists only their own tasks in /data/tasks and with an episode; the project task list is whole', async () => {
      const { ids } = zou;
      const token = await tokenOf('vendor');
      const own = [ids.tasks.spf[43], ids.tasks.spf[47]].sort();
      const listed = await zou.call(`/data/tasks?project_id=${ids.projects.spf}`, { token });
      expect((listed.body as { id: string }[]).map((t) => t.id).sort()).toEqual(own);
      const vendor = await as('vendor');
      const e02 = await vendor.listProjectTasks(ids.projects.spf, { episodeId: ids.episodes[1] ?? '' });
      expect(e02.map((t) => t.id).sort()).toEqual(own);
      // Zou's get_tasks_for_project narrows a vendor's list only when an episode is asked for.
      expect(await vendor.listProjectTasks(ids.projects.spf)).toHaveLength(57);
    });

    it('may not list custom actions nor playlists (403), but reads the project time spents', async () => {
      const vendor = await as('vendor');
      await expect(vendor.listCustomActions()).rejects.toMatchObject(FORBIDDEN);
      await expect(vendor.listPlaylists(zou.ids.projects.spf)).rejects.toMatchObject(FORBIDDEN);
      const entries = await vendor.listProjectTimeSpents(zou.ids.projects.spf);
      const bot = await as('bot');
      expect(entries.map((e) => e.id).sort()).toEqual(
        (await bot.listProjectTimeSpents(zou.ids.projects.spf)).map((e) => e.id).sort(),
      );
      await expect(vendor.listTaskTimeSpents(zou.ids.tasks.layoutSh010)).rejects.toMatchObject(FORBIDDEN);
    });
  });

  describe('client', () => {
    it('reads tasks with the studio fields blanked: no assignees, estimation, dates', async () => {
      const client = await as('client');
      const id = zou.ids.tasks.lightingSh010;
      expect(await client.getTask(id)).toMatchObject({
        id,
        assignees: [],
        assigner_id: null,
        estimation: 0,
        duration: 0,
        retake_count: 0,
        start_date: null,
        due_date: null,
        real_start_date: null,
        end_date: null,
        difficulty: null,
      });
      const full = await client.getTaskFull(id);
      expect(full).toMatchObject({
        assignees: [],
        persons: [],
        estimation: 0,
        entity: { id: zou.ids.shots[0] },
      });
      expect(full).not.toHaveProperty('assigner');
      const listed = await zou.call(`/data/tasks?project_id=${zou.ids.projects.spf}&relations=true`, {
        token: await tokenOf('client'),
      });
      const rows = listed.body as { assignees: string[]; estimation: number }[];
      expect(rows).toHaveLength(57);
      expect(rows.filter((t) => t.assignees.length > 0 || t.estimation !== 0)).toEqual([]);
    });

    it('lists only their teammates, with names and roles, nothing of the studio', async () => {
      const client = await as('client');
      const persons = await client.listPersons();
      const team =
        zou.production.rows.projects.find((p) => p.id === zou.production.ids.projects.spf)?.team ?? [];
      expect(persons.map((p) => p.id).sort()).toEqual(team.map((id) => zou.idOf(id)).sort());
      expect(persons.find((p) => p.id === zou.ids.persons.lighter)).toEqual({
        id: zou.ids.persons.lighter,
        type: 'Person',
        first_name: 'Lena',
        last_name: 'Becker',
        full_name: 'Lena Becker',
        has_avatar: false,
        active: true,
        role: 'user',
        is_bot: false,
      });
    });

    it("may not read the project time spents (403), but a task's", async () => {
      const client = await as('client');
      await expect(client.listProjectTimeSpents(zou.ids.projects.spf)).rejects.toMatchObject(FORBIDDEN);
      const entries = await (await as('bot')).listTaskTimeSpents(zou.ids.tasks.layoutSh010);
      expect((await client.listTaskTimeSpents(zou.ids.tasks.layoutSh010)).map((e) => e.id).sort()).toEqual(
        entries.map((e) => e.id).sort(),
      );
    });
  });

  describe('GET /data/persons/<id>', () => {
    const person = (id: string, who: HumanKey | 'bot') =>
      tokenOf(who).then((token) => zou.call(`/data/persons/${id}`, { token }));

    it.each(['supervisor', 'artist', 'vendor'] as const)(
      '%s reads a person as the list shows them: no email',
      async (who) => {
        const answer = await person(zou.ids.persons.manager, who);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ id: zou.ids.persons.manager, type: 'Person', role: 'manager' });
        expect(answer.body).not.toHaveProperty('email');
      },
    );

    // The producer is a manager on no team: the role, not the team, decides.
    it.each(['admin', 'manager', 'producer'] as const)('%s reads the email too', async (who) => {
      const answer = await person(zou.ids.persons.supervisor, who);
      expect(answer).toMatchObject({
        status: 200,
        body: { id: zou.ids.persons.supervisor, email: zou.logins.supervisor.email },
      });
    });

    it('a client reads a teammate by name and role only, and nobody else (403)', async () => {
      const teammate = await person(zou.ids.persons.lighter, 'client');
      expect(teammate).toMatchObject({ status: 200, body: { id: zou.ids.persons.lighter, role: 'user' } });
      expect(teammate.body).not.toHaveProperty('email');
      expect(teammate.body).not.toHaveProperty('departments');
      expect((await person(zou.ids.persons.outsider, 'client')).status).toBe(403);
    });
  });
});
