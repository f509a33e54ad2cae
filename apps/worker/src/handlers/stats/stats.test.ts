import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createLogger,
  createRedis,
  jobKinds,
  loadConfig,
  type JobData,
  type KindOptions,
} from '@kitsu-actions/shared';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient } from '@kitsu-actions/zou';
import type { Redis } from 'ioredis';
import { startWorkers, type WorkerSet } from '../../workers.ts';
import { handlers } from '../index.ts';
import { addStatsProduction, asOf, type StatsProduction } from '../../../test/stats-production.ts';

describe('stats: a report on a hand-made production, read page by page from Kitsu', () => {
  let zou: FakeZou;
  let production: StatsProduction;
  let connection: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let workers: WorkerSet;
  const progress = new Map<string, string[]>();

  beforeAll(async () => {
    // Three tasks a page: the eight tasks come in three pages.
    zou = await startFakeZou({ pageSize: 3 });
    production = addStatsProduction(zou);
    const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
    const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix });
    connection = createRedis(config.redis.url, 'consumer');
    queue = new Queue('reports', { connection, prefix });
    events = new QueueEvents('reports', { connection: createRedis(config.redis.url, 'consumer'), prefix });
    await events.waitUntilReady();
    events.on('progress', ({ jobId, data }) => {
      const message = (data as { message?: string }).message ?? '';
      progress.set(jobId, [...(progress.get(jobId) ?? []), message]);
    });
    workers = await startWorkers({
      config,
      handlers,
      logger: createLogger({ level: 'silent', name: 'test' }),
      zou: createZouClient({
        baseUrl: zou.url,
        auth: { token: zou.seed.botToken },
        retries: 1,
        retryBaseDelayMs: 10,
      }),
    });
  });
  afterAll(async () => {
    await workers.close();
    await events.close();
    await queue.close();
    connection.disconnect();
    await zou.close();
  });

  function jobData(
    options: Partial<KindOptions<'stats'>>,
    request: { taskIds?: string[]; path?: string } = {},
  ): JobData {
    return {
      request: {
        actionId: 'stats',
        personId: zou.seed.ids.persons.manager,
        projectId: production.projectId,
        taskIds: request.taskIds ?? [production.tasks.t1],
        entityType: 'shot',
        origin: request.path === undefined ? {} : { path: request.path },
        mode: 'form',
        receivedAt: asOf,
      },
      action: {
        id: 'stats',
        name: 'Production statistics',
        kind: 'stats',
        entityType: 'all',
        ajax: false,
        options: jobKinds.stats.options.parse({ weeks: 4, ...options }),
      },
    };
  }

  async function enqueue(data: JobData, attempts = 1): Promise<Job> {
    return queue.add('stats', data, {
      attempts,
      backoff: { type: 'fixed', delay: 10 },
      jobId: `stats-${randomUUID()}`,
    });
  }

  async function run(
    options: Partial<KindOptions<'stats'>>,
    request?: { taskIds?: string[]; path?: string },
  ) {
    const job = await enqueue(jobData(options, request));
    const result = jobKinds.stats.result.parse(await job.waitUntilFinished(events, 20_000));
    return { job, result, report: result.report };
  }

  const typeNames = () => ({
    layout: zou.state.taskTypes.get(zou.seed.ids.taskTypes.layout)?.name ?? '',
    animation: zou.state.taskTypes.get(zou.seed.ids.taskTypes.animation)?.name ?? '',
    deleted: `Deleted task type (${production.deletedTaskType.slice(0, 8)})`,
  });

  it('counts the whole production as written in stats-production.ts', async () => {
    const { report } = await run({ scope: 'production' });
    const types = typeNames();
    expect(report.scope).toEqual({
      kind: 'production',
      projectId: production.projectId,
      project: 'Stats Test',
    });
    expect(report.asOf).toBe(asOf);
    expect(report.totals).toEqual({
      tasks: 8,
      done: 3,
      open: 5,
      late: 3,
      retakes: 4,
      withoutEstimate: 1,
      withoutDueDate: 1,
      unassignedOpen: 1,
      unassignedRemaining: 300,
    });
    expect(report.byTaskType).toEqual(
      expect.arrayContaining([
        {
          taskType: types.layout,
          tasks: 4,
          done: 2,
          doneShare: 0.5,
          retakes: 1,
          estimate: 1620,
          spent: 1500,
          ratio: 0.926,
          withoutEstimate: 0,
        },
        {
          taskType: types.animation,
          tasks: 3,
          done: 1,
          doneShare: 0.3333,
          retakes: 3,
          estimate: 1680,
          spent: 1860,
          // (1500 + 120) / (1200 + 480): the task without an estimate is left out of the ratio.
          ratio: 0.964,
          withoutEstimate: 1,
        },
        {
          taskType: types.deleted,
          tasks: 1,
          done: 0,
          doneShare: 0,
          retakes: 0,
          estimate: 60,
          spent: 0,
          ratio: 0,
          withoutEstimate: 0,
        },
      ]),
    );
    expect(report.byTaskType).toHaveLength(3);
    expect(report.byTypeAndStatus.filter((cell) => cell.taskType === types.layout)).toEqual([
      { taskType: types.layout, status: 'Todo', done: false, count: 1, share: 0.25 },
      { taskType: types.layout, status: 'Work In Progress', done: false, count: 1, share: 0.25 },
      { taskType: types.layout, status: 'Done', done: true, count: 2, share: 0.5 },
    ]);
    expect(report.byTypeAndStatus).toContainEqual({
      taskType: types.deleted,
      status: `Deleted status (${production.deletedStatus.slice(0, 8)})`,
      done: false,
      count: 1,
      share: 1,
    });
    expect(report.byPerson).toEqual([
      {
        personId: production.persons.former,
        person: 'Former Animator',
        active: false,
        tasks: 1,
        openTasks: 1,
        remainingEstimate: 360,
        retakes: 0,
        estimate: 480,
        spent: 120,
        ratio: 0.25,
      },
      {
        personId: production.persons.artist,
        person: 'Kenji Sato',
        active: true,
        tasks: 3,
        openTasks: 2,
        remainingEstimate: 0,
        retakes: 3,
        estimate: 2400,
        spent: 2880,
        ratio: 1.2,
      },
      {
        personId: production.persons.lighter,
        person: 'Lena Becker',
        active: true,
        tasks: 4,
        openTasks: 2,
        remainingEstimate: 60,
        retakes: 3,
        estimate: 1380,
        spent: 1860,
        // (1500 + 0 + 120) / (1200 + 60 + 120)
        ratio: 1.174,
      },
    ]);
    expect(report.late).toEqual({
      total: 3,
      shown: [
        {
          taskId: production.tasks.t4,
          taskType: types.animation,
          entity: 'E01 / SQ01 / SH1',
          status: 'Retake',
          assignees: ['Kenji Sato', 'Lena Becker'],
          dueDate: '2026-11-01T00:00:00',
          daysLate: 24,
        },
        {
          taskId: production.tasks.t2,
          taskType: types.layout,
          entity: 'E01 / SQ01 / SH2',
          status: 'Work In Progress',
          assignees: ['Kenji Sato'],
          dueDate: '2026-11-20T00:00:00',
          daysLate: 5,
        },
        {
          taskId: production.tasks.t7,
          taskType: types.deleted,
          entity: 'E02 / SQ02 / SH3',
          status: `Deleted status (${production.deletedStatus.slice(0, 8)})`,
          assignees: ['Lena Becker'],
          dueDate: '2026-11-24T00:00:00',
          daysLate: 1,
        },
      ],
    });
    expect(report.overBudget.total).toBe(2);
    expect(
      report.overBudget.shown.map((task) => [task.taskId, task.estimate, task.spent, task.ratio]),
    ).toEqual([
      [production.tasks.t2, 600, 900, 1.5],
      [production.tasks.t4, 1200, 1500, 1.25],
    ]);
    expect(report.throughput).toEqual([
      { week: '2026-11-02', done: 1 },
      { week: '2026-11-09', done: 0 },
      { week: '2026-11-16', done: 1 },
      { week: '2026-11-23', done: 1 },
    ]);
    expect(report.timeSpent).toEqual([
      { week: '2026-11-09', personId: production.persons.lighter, person: 'Lena Becker', minutes: 500 },
      { week: '2026-11-16', personId: production.persons.artist, person: 'Kenji Sato', minutes: 300 },
      { week: '2026-11-23', personId: production.persons.artist, person: 'Kenji Sato', minutes: 600 },
    ]);
  });

  it('reads the production in Zou’s pages and says how far it has got', async () => {
    const route = `/data/projects/${production.projectId}/tasks`;
    const before = zou.control.requests({ path: route }).length;
    const { job, report } = await run({ scope: 'production' });
    const pages = zou.control
      .requests({ path: route })
      .slice(before)
      .map((entry) => new URLSearchParams(entry.query).get('page'));
    expect(pages.sort()).toEqual(['1', '2', '3']);
    expect(report.totals.tasks).toBe(8);
    expect(progress.get(job.id ?? '')).toContain('Loaded 8 of 8 tasks');
  });

  it('reports on the episode of the page it ran from, and says so when the episode has no task', async () => {
    const path = `/productions/${production.projectId}/episodes/${production.episodes.e01}/shots`;
    const { report } = await run({ scope: 'episode' }, { path });
    expect(report.scope).toMatchObject({
      kind: 'episode',
      episodeId: production.episodes.e01,
      episode: 'E01',
    });
    // t1, t2, t4, t5 and t8 are on E01's shots.
    expect(report.totals).toMatchObject({
      tasks: 5,
      done: 3,
      open: 2,
      late: 2,
      retakes: 4,
      unassignedOpen: 0,
    });
    expect(report.late.shown.map((task) => task.taskId)).toEqual([production.tasks.t4, production.tasks.t2]);

    const empty = await run(
      { scope: 'episode' },
      { path: `/productions/${production.projectId}/episodes/${production.episodes.e03}/shots` },
    );
    expect(empty.report.totals.tasks).toBe(0);
    expect(empty.result.summary).toBe('No tasks in this scope');
    expect(empty.result.html).toContain('This episode has no tasks yet.');
  });

  it('reports on the selected tasks only', async () => {
    const { tasks } = production;
    const { report } = await run({ scope: 'selection' }, { taskIds: [tasks.t2, tasks.t3, tasks.t6] });
    expect(report.totals).toMatchObject({ tasks: 3, done: 0, open: 3, late: 1, unassignedOpen: 1 });
    // The time sheets of tasks outside the selection are left out.
    expect(report.timeSpent.map((entry) => entry.minutes)).toEqual([300, 600]);
  });

  it('writes the same numbers on the page and in the CSV and JSON files', async () => {
    const { job, result, report } = await run({ scope: 'production' });
    const page = result.html;
    expect(page).toContain('Stats Test');
    expect(page).toMatch(/<b>8<\/b>\s*tasks/);
    expect(page).toMatch(/<b>3<\/b>\s*late/);
    // Lena Becker: 1,380 min estimated, 1,860 spent, as hours.
    expect(page).toContain('<td data-value="1380">23.0</td>');
    expect(page).toContain('<td data-value="1860">31.0</td>');
    expect(page).toContain('Former Animator <span class="muted">(inactive)</span>');
    expect(page).toContain('E01 / SQ01 / SH1');
    expect((page.match(/<svg /g) ?? []).length).toBe(4);
    expect(page).toContain(`/jobs/${job.id ?? ''}/result.csv" download>CSV</a>`);
    expect(page).toContain(`/jobs/${job.id ?? ''}/result.json" download>JSON</a>`);

    const { csv: toCsv, json: toJson } = jobKinds.stats.describe.files ?? {};
    if (toCsv === undefined || toJson === undefined) throw new Error('a stats result has CSV and JSON files');
    expect(JSON.parse(toJson(result))).toEqual(report);
    const csv = toCsv(result).trimEnd().split('\r\n');
    expect(csv[0]).toBe('figure,task_type,status,person,week,task,measure,value');
    expect(csv).toContain('totals,,,,,,late,3');
    expect(csv).toContain('person,,,Lena Becker,,,estimate,1380');
    expect(csv).toContain('time spent,,,Kenji Sato,2026-11-23,,minutes,600');
    expect(csv).toContain(
      `late,${typeNames().animation},Retake,Kenji Sato; Lena Becker,,E01 / SQ01 / SH1,daysLate,24`,
    );
  });

  it('starts again from the first page when Kitsu fails mid-way, so two attempts never mix their pages', async () => {
    const route = `/data/projects/${production.projectId}/tasks`;
    // Page 2 fails twice: the client's one retry is not enough, so the first attempt fails.
    zou.control.failNext(2, 503, { path: route, query: { page: '2' } });
    const job = await enqueue(jobData({ scope: 'production' }), 2);
    const result = jobKinds.stats.result.parse(await job.waitUntilFinished(events, 20_000));
    const done = await Job.fromId(queue, job.id ?? '');
    expect(done?.attemptsMade).toBe(2);
    expect((done?.stacktrace ?? []).join('\n')).toMatch(/503/);
    expect(result.report.totals).toMatchObject({ tasks: 8, done: 3, late: 3 });
    expect(result.report.byTaskType.reduce((sum, type) => sum + type.tasks, 0)).toBe(8);
  });

  it('fails with Kitsu’s reason when Kitsu stays unreachable, and with what to do when the scope cannot be found', async () => {
    const route = `/data/projects/${production.projectId}/tasks`;
    zou.control.failNext(2, 503, { path: route, query: { page: '1' } });
    const down = await enqueue(jobData({ scope: 'production' }));
    await expect(down.waitUntilFinished(events, 20_000)).rejects.toThrow(/503/);

    const noEpisode = await enqueue(
      jobData({ scope: 'episode' }, { path: `/productions/${production.projectId}/shots` }),
    );
    await expect(noEpisode.waitUntilFinished(events, 20_000)).rejects.toThrow(
      /is not an episode's: run it from an episode's page in Kitsu/,
    );
  });
});
