import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createLogger,
  createRedis,
  JobData,
  loadConfig,
  toStatusView,
  type ReportSettings,
} from '@kitsu-actions/shared';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient, type ZouClient } from '@kitsu-actions/zou';
import type { Redis } from 'ioredis';
import { handlers } from './handlers/index.ts';
import { startRenderWorld, type RenderWorld } from '../test/render-kit.ts';
import type { HandlerMap } from './handlers/types.ts';
import { startWorkers, type WorkerSet } from './workers.ts';

const publicUrl = 'https://kitsu.studio.example/kitsu-actions';

function jobData(taskIds: string[], report: ReportSettings | undefined): JobData {
  return {
    request: {
      actionId: 'debug',
      personId: randomUUID(),
      taskIds,
      entityType: 'shot',
      origin: {},
      mode: 'form',
      receivedAt: new Date().toISOString(),
    },
    action: {
      id: 'debug',
      name: 'Debug selection',
      kind: 'debug',
      entityType: 'all',
      ajax: false,
      options: {},
      ...(report === undefined ? {} : { report }),
    },
  };
}

async function pagesWorker(zou: ZouClient | undefined, workerHandlers: HandlerMap = handlers) {
  const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
  const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix, PUBLIC_URL: publicUrl });
  const connection: Redis = createRedis(config.redis.url, 'consumer');
  const queue = new Queue('pages', { connection, prefix });
  const events = new QueueEvents('pages', { connection: createRedis(config.redis.url, 'consumer'), prefix });
  await events.waitUntilReady();
  const workers: WorkerSet = await startWorkers({
    config,
    handlers: workerHandlers,
    logger: createLogger({ level: 'silent', name: 'test' }),
    zou,
  });
  return {
    /** Runs a job to its end; returns its final data and state. */
    async run(taskIds: string[], report: ReportSettings | undefined, attempts = 1) {
      const job = await queue.add('debug', jobData(taskIds, report), {
        attempts,
        jobId: `pages-${randomUUID()}`,
      });
      await job.waitUntilFinished(events, 20_000).catch(() => undefined);
      const done = await Job.fromId(queue, job.id ?? '');
      if (!done) throw new Error('job vanished');
      return {
        id: done.id ?? '',
        data: JobData.parse(done.data),
        state: await done.getState(),
        view: toStatusView(done, await done.getState()),
      };
    },
    async close() {
      await workers.close();
      await events.close();
      await queue.close();
      connection.disconnect();
    },
  };
}

describe('report in Kitsu', () => {
  let zou: FakeZou;
  let client: ZouClient;
  let worker: Awaited<ReturnType<typeof pagesWorker>>;
  const commentManyCalls = (): number =>
    zou.control.requests({ method: 'POST', path: /\/tasks\/comment-many$/ }).length;

  beforeAll(async () => {
    zou = await startFakeZou({ bigProject: { tasks: 6 } });
    client = createZouClient({ baseUrl: zou.url, auth: { token: zou.seed.botToken }, retryBaseDelayMs: 10 });
    worker = await pagesWorker(client);
  });
  afterAll(async () => {
    await worker.close();
    await zou.close();
  });

  it('comments a 50-task selection in one call, with a link to the job, and sets the status asked for', async () => {
    const tasks = zou.seed.ids.tasks.spf.slice(0, 50);
    const before = commentManyCalls();
    const { id, data, state, view } = await worker.run(tasks, { comment: true, statusOnSuccess: 'wfa' });
    expect(state).toBe('completed');
    expect(commentManyCalls() - before).toBe(1);
    const comments = zou.state.comments.filter((comment) =>
      comment.text?.includes(`${publicUrl}/jobs/${id}`),
    );
    expect(comments.map((comment) => comment.object_id).sort()).toEqual([...tasks].sort());
    expect(comments[0]?.text).toMatch(
      /^kitsu-actions: "Debug selection" completed \(Debug: Debug selection: 50 tasks/,
    );
    for (const task of tasks)
      expect(zou.state.tasks.get(task)?.task_status_id).toBe(zou.seed.ids.taskStatuses.wfa);
    expect(data.report).toMatchObject({ state: 'posted', commented: 50 });
    expect(view?.report?.message).toMatch(/Commented on 50 of 50 task\(s\) in Kitsu, status set to wfa/);
  });

  it('makes one call per project', async () => {
    const tasks = [zou.seed.ids.tasks.layoutSh010, ...zou.seed.ids.tasks.big.slice(0, 3)];
    const before = commentManyCalls();
    const { data } = await worker.run(tasks, { comment: true });
    expect(commentManyCalls() - before).toBe(2);
    expect(data.report).toMatchObject({ state: 'posted', commented: 4 });
  });

  it('a failed job comments once, on its last attempt, and keeps statuses unless told otherwise', async () => {
    const failing = {
      ...handlers,
      debug: () => Promise.reject(new Error('the farm said no')),
    } satisfies HandlerMap;
    const failingWorker = await pagesWorker(client, failing);
    try {
      const task = zou.seed.ids.tasks.riggingMei;
      const statusBefore = zou.state.tasks.get(task)?.task_status_id;
      const before = commentManyCalls();
      const { id, state, data } = await failingWorker.run([task], { comment: true }, 2);
      expect(state).toBe('failed');
      expect(commentManyCalls() - before).toBe(1);
      const comment = zou.state.comments.find((c) => c.text?.includes(`${publicUrl}/jobs/${id}`));
      expect(comment?.text).toMatch(/^kitsu-actions: "Debug selection" failed: the farm said no/);
      expect(zou.state.tasks.get(task)?.task_status_id).toBe(statusBefore);
      expect(data.report).toMatchObject({ state: 'posted', commented: 1 });
    } finally {
      await failingWorker.close();
    }
  });

  it('Kitsu refusing the comments is shown with the job, which still completes', async () => {
    zou.control.failNext(1, 500, { method: 'POST', path: /\/tasks\/comment-many$/ });
    try {
      const { state, data, view } = await worker.run([zou.seed.ids.tasks.modelingMei], { comment: true });
      expect(state).toBe('completed');
      expect(data.report?.state).toBe('failed');
      expect(view?.report?.message).toMatch(/failed: Zou POST .*comment-many answered 500/);
    } finally {
      zou.control.clearFaults();
    }
  });

  it('an unknown status short name comments anyway and says why the status did not change', async () => {
    const { data } = await worker.run([zou.seed.ids.tasks.lightingSh010], {
      comment: true,
      statusOnSuccess: 'wfaa',
    });
    expect(data.report).toMatchObject({ state: 'partial', commented: 1 });
    expect(data.report?.message).toMatch(/Kitsu has no task status "wfaa"/);
  });

  it('without Kitsu, the job completes and the report says why nothing was posted', async () => {
    const bare = await pagesWorker(undefined);
    try {
      const { state, data } = await bare.run([zou.seed.ids.tasks.layoutSh010], { comment: true });
      expect(state).toBe('completed');
      expect(data.report).toMatchObject({ state: 'failed', commented: 0 });
      expect(data.report?.message).toMatch(/no Kitsu configured/);
    } finally {
      await bare.close();
    }
  });
});

describe('a cancelled render in Kitsu', () => {
  let world: RenderWorld;
  let workers: WorkerSet;
  const canceller = 'marc.dubois@studio.example';

  beforeAll(async () => {
    // The farms' clocks stand still: no farm job can finish before the cancel reaches it.
    world = await startRenderWorld(inject('redisUrl'), { tick: false });
    workers = await startWorkers({
      config: world.config,
      handlers,
      logger: createLogger({ level: 'silent', name: 'test' }),
      zou: createZouClient({ baseUrl: world.zou.url, auth: { token: world.zou.seed.botToken } }),
    });
  });
  afterAll(async () => {
    await workers.close();
    await world.close();
  });

  const statuses = (): (string | undefined)[] =>
    world.lightingTasks.map((id) => world.zou.state.tasks.get(id)?.task_status_id);

  /** Queues the Flamenco render with `report`, cancels it once every shot is on the farm, waits for its end. */
  async function cancelledRender(report: ReportSettings) {
    const action = world.catalogue.actions.find((item) => item.id === 'render-flamenco');
    if (action === undefined) throw new Error('no render-flamenco action in the test catalogue');
    const { id } = await world.queues.enqueue(
      { ...action, report },
      {
        actionId: action.id,
        personId: world.zou.seed.ids.persons.lighter,
        projectId: world.zou.seed.ids.projects.spf,
        taskIds: world.lightingTasks,
        entityType: 'shot',
        origin: {},
        mode: 'form',
        receivedAt: new Date().toISOString(),
      },
    );
    const submitted = (): number =>
      world.flamenco.state.submissions.filter(
        (submission) =>
          (submission.body['metadata'] as Record<string, string>)['kitsu_actions_bull_job_id'] === id,
      ).length;
    await world.until(() => submitted() === world.lightingTasks.length, 'every shot on the farm');
    expect((await world.queues.cancel(id, { by: canceller }, 60)).outcome).toBe('requested');
    const view = await world.finished(id);
    const comments = world.zou.state.comments
      .filter((comment) => comment.text?.includes(`/jobs/${id}`) === true)
      .filter((comment) => comment.text?.includes(' submitted ') !== true);
    return { id, view, comments };
  }

  it('leaves the task statuses as they were and comments that it was cancelled, and by whom', async () => {
    const before = statuses();
    const { id, view, comments } = await cancelledRender({
      comment: true,
      statusOnSuccess: 'wfa',
      statusOnFailure: 'retake',
    });
    expect(view.state).toBe('cancelled');
    expect(statuses()).toEqual(before);
    expect(comments.map((comment) => comment.object_id).sort()).toEqual([...world.lightingTasks].sort());
    for (const comment of comments) {
      expect(comment.text).toBe(
        `kitsu-actions: "Render lighting on Flamenco" was cancelled by ${canceller}.\n\nDetails: ${publicUrl}/jobs/${id}`,
      );
    }
    expect(view.report).toMatchObject({ state: 'posted', commented: 3 });
    expect(view.report?.message).not.toMatch(/status set/);
  });

  it('with statusOnCancel: todo, sets the tasks to todo', async () => {
    const todo = world.zou.seed.ids.taskStatuses.todo;
    expect(statuses().every((status) => status === todo)).toBe(false);
    const { view, comments } = await cancelledRender({
      comment: true,
      statusOnFailure: 'retake',
      statusOnCancel: 'todo',
    });
    expect(view.state).toBe('cancelled');
    expect(statuses()).toEqual(world.lightingTasks.map(() => todo));
    expect(comments).toHaveLength(3);
    expect(view.report?.message).toMatch(/Commented on 3 of 3 task\(s\) in Kitsu, status set to todo/);
  });
});
