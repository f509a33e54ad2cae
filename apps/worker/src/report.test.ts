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
