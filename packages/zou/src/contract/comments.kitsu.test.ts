import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zouTargets } from '@kitsu-actions/testing';
import type { ZouTarget } from '@kitsu-actions/testing';
import { sessionClients } from './sessions.ts';

// Contract: comments and status changes, one by one and many at once, and who may write them.
// These tests write: they use the tasks of `ids.shots[6..9]` (E01/SQ020/SH030, SH040, E02/SQ010/SH010,
// SH020) and the vendor's second task, which no other suite of the run writes, and compare with what they
// read before writing rather than with the seed (the real Zou is shared by the whole run).

const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const FORBIDDEN = { name: 'ZouError', status: 403 };
const NOT_FOUND = { name: 'ZouError', status: 404 };

describe.each(zouTargets)('$name: comments', ({ start }) => {
  let zou: ZouTarget;

  /** A client logged in as that person (through a session token from their login). */
  const as = sessionClients(() => zou);
  /** Tasks of the shot at `shot` in `ids.shots`: layout and animation (the artist's), lighting, compositing. */
  const tasksOf = (shot: number) => {
    const [layout = '', animation = '', lighting = '', compositing = ''] = zou.ids.tasks.spf.slice(
      shot * 4,
      shot * 4 + 4,
    );
    return { layout, animation, lighting, compositing };
  };
  const status = () => zou.ids.taskStatuses;

  beforeAll(async () => {
    zou = await start();
  });
  afterAll(async () => {
    await zou.close();
  });

  describe('POST /actions/tasks/<id>/comment', () => {
    it('comments with the current status without changing it, and answers the comment', async () => {
      const bot = await as('bot');
      const id = tasksOf(6).lighting;
      const before = await bot.getTask(id);
      const comment = await bot.commentTask(id, {
        task_status_id: before.task_status_id,
        comment: 'contract: a note',
      });
      expect(comment).toMatchObject({
        object_id: id,
        object_type: 'Task',
        person_id: zou.ids.persons.bot,
        task_status_id: before.task_status_id,
        text: 'contract: a note',
        task_status: { id: before.task_status_id },
      });
      const after = await bot.getTask(id);
      expect(after.task_status_id).toBe(before.task_status_id);
      expect(after.retake_count).toBe(before.retake_count);
      expect(after.last_comment_date).not.toBeNull();
      expect(String(after.last_comment_date) > String(before.last_comment_date ?? '')).toBe(true);
    });

    it('changes the status, with the dates and retakes Zou derives from it', async () => {
      const manager = await as('manager');
      const id = tasksOf(6).compositing;
      const set = async (statusId: string) => {
        await manager.commentTask(id, { task_status_id: statusId, comment: 'contract: status' });
        return manager.getTask(id);
      };
      const wip = await set(status().wip);
      expect(wip).toMatchObject({ task_status_id: status().wip, end_date: null, done_date: null });
      expect(wip.real_start_date).not.toBeNull();
      const wfa = await set(status().wfa);
      expect(wfa.task_status_id).toBe(status().wfa);
      expect(wfa.end_date).not.toBeNull();
      const done = await set(status().done);
      expect(done.task_status_id).toBe(status().done);
      expect(done.done_date).not.toBeNull();
      // A done status keeps the end date the feedback request stamped.
      expect(done.end_date).toBe(wfa.end_date);
      const retake = await set(status().retake);
      expect(retake).toMatchObject({
        task_status_id: status().retake,
        retake_count: (done.retake_count ?? 0) + 1,
        end_date: null,
        done_date: null,
      });
      // The same status again is no new retake.
      expect((await set(status().retake)).retake_count).toBe(retake.retake_count);
    });

    it("refuses a retake past the project's max_retakes (3) with 400", async () => {
      const manager = await as('manager');
      const id = tasksOf(9).compositing;
      let task = await manager.getTask(id);
      while ((task.retake_count ?? 0) < 3) {
        await manager.commentTask(id, { task_status_id: status().wip, comment: 'contract: again' });
        await manager.commentTask(id, { task_status_id: status().retake, comment: 'contract: retake' });
        task = await manager.getTask(id);
      }
      await manager.commentTask(id, { task_status_id: status().wip, comment: 'contract: again' });
      await expect(
        manager.commentTask(id, { task_status_id: status().retake, comment: 'contract: one too many' }),
      ).rejects.toMatchObject({
        name: 'ZouError',
        status: 400,
        zouMessage: 'No more retakes allowed on this task',
      });
      expect(await manager.getTask(id)).toMatchObject({ task_status_id: status().wip, retake_count: 3 });
    });

    it("lets an artist comment their own task with an artist status, not set it to Done nor touch others'", async () => {
      const artist = await as('artist');
      const { layout, lighting } = tasksOf(7);
      expect(
        await artist.commentTask(layout, { task_status_id: status().wip, comment: 'contract: on it' }),
      ).toMatchObject({
        object_id: layout,
        person_id: zou.ids.persons.artist,
      });
      await expect(
        artist.commentTask(layout, { task_status_id: status().done, comment: 'x' }),
      ).rejects.toMatchObject(FORBIDDEN);
      await expect(
        artist.commentTask(lighting, { task_status_id: status().wip, comment: 'x' }),
      ).rejects.toMatchObject(FORBIDDEN);
    });

    it('lets a vendor set any status on their task (only artists are held to is_artist_allowed)', async () => {
      const vendor = await as('vendor');
      const own = zou.ids.tasks.spf[47] ?? '';
      expect(
        await vendor.commentTask(own, { task_status_id: status().done, comment: 'contract: delivered' }),
      ).toMatchObject({ object_id: own, task_status_id: status().done });
      await expect(
        vendor.commentTask(tasksOf(7).lighting, { task_status_id: status().wip, comment: 'x' }),
      ).rejects.toMatchObject(FORBIDDEN);
    });

    it('lets a client comment any task with a client status only', async () => {
      const client = await as('client');
      const { animation } = tasksOf(7);
      expect(
        await client.commentTask(animation, { task_status_id: status().done, comment: 'contract: approved' }),
      ).toMatchObject({
        object_id: animation,
        person_id: zou.ids.persons.client,
      });
      await expect(
        client.commentTask(animation, { task_status_id: status().wip, comment: 'x' }),
      ).rejects.toMatchObject(FORBIDDEN);
    });

    it.each(['outsider', 'producer'] as const)(
      'refuses %s, who is not on the team, with 403',
      async (who) => {
        const client = await as(who);
        await expect(
          client.commentTask(tasksOf(7).layout, { task_status_id: status().wip, comment: 'x' }),
        ).rejects.toMatchObject(FORBIDDEN);
      },
    );

    it('answers 400 without task_status_id, 404 for an unknown or malformed status, 404 for an unknown task', async () => {
      const token = zou.botToken;
      const id = tasksOf(7).compositing;
      const missing = await zou.call(`/actions/tasks/${id}/comment`, {
        method: 'POST',
        token,
        body: { comment: 'x' },
      });
      expect(missing).toMatchObject({
        status: 400,
        body: {
          error: true,
          message: 'Validation error.',
          data: { errors: [{ field: 'task_status_id', message: 'Field required' }] },
        },
      });
      const bot = await as('bot');
      await expect(bot.commentTask(id, { task_status_id: UNKNOWN, comment: 'x' })).rejects.toMatchObject(
        NOT_FOUND,
      );
      const malformed = await zou.call(`/actions/tasks/${id}/comment`, {
        method: 'POST',
        token,
        body: { task_status_id: 'wip', comment: 'x' },
      });
      expect(malformed.status).toBe(404);
      await expect(
        bot.commentTask(UNKNOWN, { task_status_id: status().wip, comment: 'x' }),
      ).rejects.toMatchObject(NOT_FOUND);
      const badTask = await zou.call('/actions/tasks/not-an-id/comment', {
        method: 'POST',
        token,
        body: { task_status_id: status().wip, comment: 'x' },
      });
      expect(badTask.status).toBe(404);
      // Not JSON for Flask: the body is ignored, so the status is missing.
      const text = await zou.call(`/actions/tasks/${id}/comment`, {
        method: 'POST',
        token,
        body: JSON.stringify({ task_status_id: status().wip }),
        contentType: 'text/plain',
      });
      expect(text).toMatchObject({ status: 400, body: { message: 'Validation error.' } });
    });
  });

  describe('POST /actions/projects/<id>/tasks/comment-many', () => {
    const route = () => `/actions/projects/${zou.ids.projects.spf}/tasks/comment-many`;

    it('writes every item for a manager, skipping the items that miss a field', async () => {
      const { lighting, compositing } = tasksOf(8);
      const answer = await zou.call(route(), {
        method: 'POST',
        token: await zou.sessionToken('manager'),
        body: [
          { object_id: lighting, task_status_id: status().wfa, comment: 'contract: many 1' },
          { object_id: compositing, task_status_id: status().wfa, comment: 'contract: many 2' },
          { object_id: compositing, task_status_id: status().wip },
          { object_id: compositing, comment: 'no status' },
        ],
      });
      expect(answer.status).toBe(201);
      expect(
        (answer.body as { object_id: string; text: string }[]).map((c) => [c.object_id, c.text]),
      ).toEqual([
        [lighting, 'contract: many 1'],
        [compositing, 'contract: many 2'],
      ]);
      const bot = await as('bot');
      expect((await bot.getTask(compositing)).task_status_id).toBe(status().wfa);
    });

    it('drops silently what an artist may not write: the tasks not assigned to them', async () => {
      const artist = await as('artist');
      const { layout, lighting } = tasksOf(8);
      const comments = await artist.commentMany(zou.ids.projects.spf, [
        { object_id: layout, task_status_id: status().wip, comment: 'contract: mine' },
        { object_id: lighting, task_status_id: status().wip, comment: 'contract: not mine' },
      ]);
      expect(comments.map((c) => [c.object_id, c.text])).toEqual([[layout, 'contract: mine']]);
    });

    it('refuses the whole request (403) for a status the artist may not set on their own task', async () => {
      const artist = await as('artist');
      const { animation } = tasksOf(8);
      await expect(
        artist.commentMany(zou.ids.projects.spf, [
          { object_id: animation, task_status_id: status().done, comment: 'contract: done?' },
        ]),
      ).rejects.toMatchObject(FORBIDDEN);
    });

    it("drops every item of a client (not assigned, not a supervisor), and keeps a vendor's own", async () => {
      const { layout } = tasksOf(8);
      const client = await as('client');
      expect(
        await client.commentMany(zou.ids.projects.spf, [
          { object_id: layout, task_status_id: status().done, comment: 'contract: client' },
        ]),
      ).toEqual([]);
      const vendor = await as('vendor');
      const own = zou.ids.tasks.spf[47] ?? '';
      const comments = await vendor.commentMany(zou.ids.projects.spf, [
        { object_id: own, task_status_id: status().wip, comment: 'contract: vendor' },
        { object_id: layout, task_status_id: status().wip, comment: "contract: not the vendor's" },
      ]);
      expect(comments.map((c) => c.object_id)).toEqual([own]);
    });

    it.each(['outsider', 'producer'] as const)(
      'drops every item of %s, who is not on the team',
      async (who) => {
        const client = await as(who);
        expect(
          await client.commentMany(zou.ids.projects.spf, [
            { object_id: tasksOf(8).layout, task_status_id: status().wip, comment: 'x' },
          ]),
        ).toEqual([]);
      },
    );

    it("writes a supervisor's items on a task of a project they are not on: off the team, their role is their studio role", async () => {
      // get_allowed_comments_only reads the person's role on the task's project (the team link's, else the
      // studio role): a supervisor with no department passes on every task, team or not.
      const task = zou.ids.tasks.moon[2] ?? '';
      const before = await (await as('admin')).getTask(task);
      const supervisor = await as('supervisor');
      const comments = await supervisor.commentMany(zou.ids.projects.moon, [
        {
          object_id: task,
          task_status_id: before.task_status_id,
          comment: 'contract: supervisor off the team',
        },
      ]);
      expect(comments).toMatchObject([{ object_id: task, person_id: zou.ids.persons.supervisor }]);
    });

    it('writes in chunks for the bot, a manager of the project', async () => {
      const bot = await as('bot');
      const ids = Object.values(tasksOf(9)).slice(0, 3);
      const comments = await bot.commentMany(
        zou.ids.projects.spf,
        ids.map((id) => ({ object_id: id, task_status_id: status().wip, comment: 'contract: chunked' })),
        { chunkSize: 2 },
      );
      expect(comments.map((c) => c.object_id)).toEqual(ids);
      expect(comments.every((c) => c.person_id === zou.ids.persons.bot)).toBe(true);
    });

    it('answers 404 for an unknown task or status, 400 for a body that is not a list, 404 for an unknown project', async () => {
      const bot = await as('bot');
      const { layout } = tasksOf(9);
      await expect(
        bot.commentMany(zou.ids.projects.spf, [
          { object_id: UNKNOWN, task_status_id: status().wip, comment: 'x' },
        ]),
      ).rejects.toMatchObject(NOT_FOUND);
      await expect(
        bot.commentMany(zou.ids.projects.spf, [{ object_id: layout, task_status_id: UNKNOWN, comment: 'x' }]),
      ).rejects.toMatchObject(NOT_FOUND);
      const notList = await zou.call(route(), {
        method: 'POST',
        token: zou.botToken,
        body: { object_id: layout, task_status_id: status().wip, comment: 'x' },
      });
      expect(notList).toMatchObject({
        status: 400,
        body: { error: true, message: 'Request body must be a JSON array.' },
      });
      const malformed = await zou.call(route(), {
        method: 'POST',
        token: zou.botToken,
        body: [{ object_id: 'not-an-id', task_status_id: status().wip, comment: 'x' }],
      });
      expect(malformed).toMatchObject({
        status: 400,
        body: { message: 'Validation error.', data: { errors: [{ field: '0.object_id' }] } },
      });
      await expect(
        bot.commentMany(UNKNOWN, [{ object_id: layout, task_status_id: status().wip, comment: 'x' }]),
      ).rejects.toMatchObject(NOT_FOUND);
    });
  });
});
