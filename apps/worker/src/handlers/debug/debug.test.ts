import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, createRedis, loadConfig, PageResult, type JobData } from '@kitsu-actions/shared';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient, type ZouClient } from '@kitsu-actions/zou';
import type { Redis } from 'ioredis';
import { startWorkers, type WorkerSet } from '../../workers.ts';
import { handlers } from '../index.ts';

function jobData(taskIds: string[]): JobData {
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
    action: { id: 'debug', name: 'Debug', kind: 'debug', entityType: 'all', ajax: false, options: {} },
  };
}

/** A worker set on its own queue prefix, reading Kitsu through `zou`. */
async function pagesWorker(zou: ZouClient | undefined) {
  const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
  const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix });
  const connection: Redis = createRedis(config.redis.url, 'consumer');
  const queue = new Queue('pages', { connection, prefix });
  const events = new QueueEvents('pages', { connection: createRedis(config.redis.url, 'consumer'), prefix });
  await events.waitUntilReady();
  const progress: unknown[] = [];
  events.on('progress', ({ data }) => progress.push(data));
  const workers: WorkerSet = await startWorkers({
    config,
    handlers,
    logger: createLogger({ level: 'silent', name: 'test' }),
    zou,
  });
  return {
    progress,
    async run(taskIds: string[]): Promise<string> {
      const job = await queue.add('debug', jobData(taskIds), { attempts: 1, jobId: `pages-${randomUUID()}` });
      return PageResult.parse(await job.waitUntilFinished(events, 20_000)).html;
    },
    async close() {
      await workers.close();
      await events.close();
      await queue.close();
      connection.disconnect();
    },
  };
}

describe('debug page with Kitsu data', () => {
  let zou: FakeZou;
  let worker: Awaited<ReturnType<typeof pagesWorker>>;
  beforeAll(async () => {
    zou = await startFakeZou();
    worker = await pagesWorker(createZouClient({ baseUrl: zou.url, auth: { token: zou.seed.botToken } }));
  });
  afterAll(async () => {
    await worker.close();
    await zou.close();
  });

  it('shows every field of the task, its shot, sequence, episode, project, type, status, assignees and latest preview', async () => {
    const { ids } = zou.seed;
    // A task with a preview (done/wfa/retake statuses carry previews in the seed).
    const withPreview =
      ids.tasks.spf.find((id) => zou.state.tasks.get(id)?.last_preview_file_id !== null) ?? '';
    const task = zou.state.tasks.get(withPreview);
    expect(task).toBeDefined();
    const before = zou.control.requests().length;
    const page = await worker.run([withPreview, ids.tasks.modelingMei]);
    // The one step that waits (on Zou) is reported while it runs.
    expect(worker.progress).toContainEqual({ percent: 30, message: 'Reading the selection from Kitsu' });
    const shot = zou.state.entities.get(task?.entity_id ?? '');
    const sequence = zou.state.entities.get(shot?.parent_id ?? '');
    const episode = zou.state.entities.get(sequence?.parent_id ?? '');
    expect(page).toContain('Project: Spring Festival');
    expect(page).toContain(`<h3>Task <code>${withPreview}</code></h3>`);
    for (const entity of [shot, sequence, episode]) {
      expect(page).toContain(`<code>${entity?.name ?? 'missing'}</code></h3>`);
    }
    const type = zou.state.taskTypes.get(task?.task_type_id ?? '');
    const assignee = zou.state.persons.get(task?.assignees[0] ?? '');
    expect(page).toContain(`Task: ${type?.name} on ${episode?.name} / ${sequence?.name} / ${shot?.name}`);
    // Field names as Zou sends them, with their values.
    for (const name of [
      'estimation',
      'retake_count',
      'due_date',
      'nb_frames',
      'frame_in',
      'fps',
      'team',
      'short_name',
    ]) {
      expect(page).toContain(`<th>${name}</th>`);
    }
    expect(page).toContain(assignee?.full_name ?? 'missing');
    expect(page).toContain(`<code>${task?.last_preview_file_id ?? 'missing'}</code>`);
    expect(page).toContain('Task: Modeling on Mei');
    // One batch: tasks, entities and parents, one project, the three lists, and one preview list.
    const calls = zou.control.requests().slice(before);
    expect(calls.filter((call) => call.path.endsWith('/data/task-types'))).toHaveLength(1);
    expect(calls.filter((call) => /\/data\/projects\//.test(call.path))).toHaveLength(1);
  });

  it('escapes what Kitsu says', async () => {
    const { ids } = zou.seed;
    const task = zou.state.tasks.get(ids.tasks.riggingMei);
    if (task === undefined) throw new Error('seed changed');
    task.description = '<script>alert("zou")</script>';
    const page = await worker.run([ids.tasks.riggingMei]);
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('&lt;script&gt;alert(&quot;zou&quot;)&lt;/script&gt;');
  });

  it('names the tasks Kitsu does not know', async () => {
    const unknown = randomUUID();
    const page = await worker.run([zou.seed.ids.tasks.layoutSh010, unknown]);
    expect(page).toContain('Kitsu data: unknown tasks');
    expect(page).toContain(unknown);
  });

  it('still renders, with a visible error, when Kitsu cannot be reached', async () => {
    const unreachable = await startFakeZou();
    const port = unreachable.port;
    await unreachable.close();
    const offline = await pagesWorker(
      createZouClient({
        baseUrl: `http://127.0.0.1:${port}/api`,
        auth: { token: zou.seed.botToken },
        retries: 0,
      }),
    );
    try {
      const task = zou.seed.ids.tasks.layoutSh010;
      const page = await offline.run([task]);
      expect(page).toContain('Kitsu data: not available');
      expect(page).toMatch(
        /<p class="error">Kitsu could not be read: Zou at http:\/\/127\.0\.0\.1:\d+\/api is unreachable/,
      );
      // The request part of the page is still there.
      expect(page).toContain(task);
    } finally {
      await offline.close();
    }
  });

  it('says so when no Kitsu is configured', async () => {
    const bare = await pagesWorker(undefined);
    try {
      expect(await bare.run([randomUUID()])).toMatch(/Not read: the worker has no Kitsu configured/);
    } finally {
      await bare.close();
    }
  });
});
