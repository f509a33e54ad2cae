import { createHash, randomUUID } from 'node:crypto';
import { startRedisServer, type RedisServer } from '@kitsu-actions/testing';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { cancelKey, type CancelOutcome } from './cancel.ts';
import { parseCatalogue, type CatalogueAction } from './catalogue.ts';
import { bullJobKey, recordJobFields } from './job-index.ts';
import type { RawRequest } from './jobs.ts';
import type { VerifiedRequest } from './kitsu-request.ts';
import { createRedis, jobDataOf, JobQueues, QueueUnavailableError } from './queues.ts';
import type { ReportOutcome } from './report.ts';
import type { JobStatusView } from './status.ts';

const catalogue = parseCatalogue(
  'actions:\n  - { id: debug, name: Debug, kind: debug }\n  - { id: again, name: Debug again, kind: debug }\n',
  'test',
);

function actionOf(id: string): CatalogueAction {
  const action = catalogue.actions.find((entry) => entry.id === id);
  if (action === undefined) throw new Error(`no action ${id}`);
  return action;
}

const debug = actionOf('debug');
const again = actionOf('again');

/** A render action as the catalogue holds it (its options are the kind's business, not the queue's). */
const render: CatalogueAction = {
  id: 'render-lighting',
  name: 'Render lighting',
  kind: 'render.flamenco',
  entityType: 'shot',
  ajax: true,
  method: 'post',
  report: { comment: true, statusOnSuccess: 'wfa' },
  options: { jobType: 'simple-blender-render', priority: 50 },
};

const raw: RawRequest = {
  method: 'POST',
  url: '/actions/debug',
  headers: { host: 'actions.studio.example' },
  body: 'personid=someone',
  fields: { personid: 'someone' },
};

function clickOf(overrides: Partial<VerifiedRequest> = {}): VerifiedRequest {
  return {
    actionId: 'debug',
    personId: randomUUID(),
    projectId: randomUUID(),
    taskIds: [randomUUID(), randomUUID()],
    entityType: 'shot',
    origin: {},
    mode: 'ajax',
    receivedAt: new Date().toISOString(),
    ...overrides,
  };
}

function ready(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

function ended(redis: Redis): Promise<void> {
  if (redis.status === 'end') return Promise.resolve();
  return new Promise((resolve) => redis.once('end', () => resolve()));
}

/** The connection a JobQueues reads through, to catch it in one of its states. */
function readerOf(queues: JobQueues): Redis {
  return queues['reader'];
}

function unavailable(message: string): { name: string; message: string } {
  return { name: 'QueueUnavailableError', message: `The job queue (Redis) is unavailable: ${message}` };
}

const sha256 = (parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex');

describe('createRedis', () => {
  it('a producer fails fast; a consumer waits for Redis, both retrying at growing intervals', () => {
    const producer = createRedis(inject('redisUrl'), 'producer', 300);
    const consumer = createRedis(inject('redisUrl'), 'consumer');
    try {
      expect(producer.options).toMatchObject({
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 600,
        commandTimeout: 300,
        lazyConnect: false,
      });
      expect(consumer.options).toMatchObject({
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        enableReadyCheck: true,
      });
      expect(consumer.options.commandTimeout).toBeUndefined();
      const delays = (redis: Redis): Array<number | void | null | undefined> =>
        [0, 1, 2, 3, 4, 5, 6, 20].map((attempt) => redis.options.retryStrategy?.(attempt));
      expect(delays(producer)).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
      expect(delays(consumer)).toEqual(delays(producer));
    } finally {
      producer.disconnect();
      consumer.disconnect();
    }
  });

  it('QueueUnavailableError says what Redis did and keeps it as its cause', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:6390');
    const error = new QueueUnavailableError(cause);
    expect(error).toMatchObject(unavailable('connect ECONNREFUSED 127.0.0.1:6390'));
    expect(error.cause).toBe(cause);
    expect(new QueueUnavailableError('gone')).toMatchObject(unavailable('gone'));
  });
});

describe('jobDataOf', () => {
  it('the action as it was at the click, the request, and the raw request for kinds that keep it', () => {
    const click = clickOf();
    const debugSnapshot = {
      id: 'debug',
      name: 'Debug',
      kind: 'debug',
      entityType: 'all',
      ajax: false,
      options: {},
    };
    expect(jobDataOf(debug, click, raw)).toStrictEqual({ request: click, action: debugSnapshot, raw });
    expect(jobDataOf(debug, click)).toStrictEqual({ request: click, action: debugSnapshot });
    expect(jobDataOf(render, click, raw)).toStrictEqual({
      request: click,
      action: {
        id: 'render-lighting',
        name: 'Render lighting',
        kind: 'render.flamenco',
        entityType: 'shot',
        ajax: true,
        options: { jobType: 'simple-blender-render', priority: 50 },
        report: { comment: true, statusOnSuccess: 'wfa' },
      },
    });
  });
});

describe('JobQueues', () => {
  const connection = createRedis(inject('redisUrl'), 'producer', 2000);
  connection.on('error', () => undefined);
  const redis = createRedis(inject('redisUrl'), 'consumer');
  const opened: JobQueues[] = [];
  const workers: Worker[] = [];

  /** Queues of their own (a prefix of their own), so no test sees another's jobs. */
  function queuesOf(options: { dedupWindowMs?: number; on?: Redis } = {}): {
    queues: JobQueues;
    prefix: string;
  } {
    const prefix = `{kaq-${randomUUID().slice(0, 8)}}`;
    const queues = new JobQueues(options.on ?? connection, {
      prefix,
      timeoutMs: 2000,
      dedupWindowMs: options.dedupWindowMs ?? 60_000,
    });
    opened.push(queues);
    return { queues, prefix };
  }

  /** Runs `process` on the next job of the pages queue under `prefix`; resolves once that job has ended. */
  async function work(
    prefix: string,
    id: string,
    process: (job: Job) => Promise<unknown>,
    until: 'completed' | 'failed',
  ): Promise<void> {
    const workerConnection = createRedis(inject('redisUrl'), 'consumer');
    const worker = new Worker('pages', process, { connection: workerConnection, prefix });
    workers.push(worker);
    try {
      await new Promise<void>((resolve) => {
        const ended = (job: Job | undefined): void => {
          if (job?.id === id) resolve();
        };
        if (until === 'completed') worker.on('completed', ended);
        else worker.on('failed', ended);
      });
    } finally {
      await worker.close();
      workerConnection.disconnect();
    }
  }

  beforeAll(async () => {
    await ready(connection);
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await Promise.all(opened.map((queues) => queues.close()));
    connection.disconnect();
    await redis.quit();
  });

  describe('enqueue', () => {
    it("a job's id names its queue", async () => {
      const { queues } = queuesOf();
      const pages = await queues.enqueue(debug, clickOf());
      const rendered = await queues.enqueue(render, clickOf({ actionId: render.id }));
      expect(pages.id).toMatch(/^pages-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(rendered.id).toMatch(
        /^render-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect([pages.deduplicated, rendered.deduplicated]).toEqual([false, false]);
    });

    it('the double-click key is the person, the action, the project and the sorted tasks, one a line', async () => {
      const { queues, prefix } = queuesOf();
      const tasks = [randomUUID(), randomUUID(), randomUUID()];
      const click = clickOf({ taskIds: tasks });
      const sorted = [...tasks].sort();
      const { id } = await queues.enqueue(debug, click);
      expect(await redis.hget(bullJobKey(prefix, 'pages', id), 'deid')).toBe(
        sha256([click.personId, 'debug', click.projectId ?? '', ...sorted]),
      );
      const noProject: VerifiedRequest = { ...click };
      delete noProject.projectId;
      const nowhere = await queues.enqueue(debug, noProject);
      expect(nowhere.deduplicated).toBe(false);
      expect(await redis.hget(bullJobKey(prefix, 'pages', nowhere.id), 'deid')).toBe(
        sha256([click.personId, 'debug', '', ...sorted]),
      );
    });

    it('other tasks on the same production are another job', async () => {
      const { queues } = queuesOf();
      const click = clickOf();
      const first = await queues.enqueue(debug, click);
      const other = await queues.enqueue(debug, { ...click, taskIds: [randomUUID()] });
      expect(other.deduplicated).toBe(false);
      expect(other.id).not.toBe(first.id);
    });

    it('a double click lists as the one job it is', async () => {
      const { queues } = queuesOf();
      const click = clickOf();
      const first = await queues.enqueue(debug, click);
      const second = await queues.enqueue(debug, click);
      expect(second).toEqual({ id: first.id, deduplicated: true });
      const { jobs, total } = await queues.list({ personId: click.personId }, { offset: 0, limit: 10 });
      expect(total).toBe(1);
      expect(jobs.map((job) => job.id)).toEqual([first.id]);
    });

    it('without a dedup window, the same click twice is two jobs, both listed', async () => {
      const { queues, prefix } = queuesOf({ dedupWindowMs: 0 });
      const click = clickOf();
      const first = await queues.enqueue(debug, click);
      const second = await queues.enqueue(debug, click);
      expect([first.deduplicated, second.deduplicated]).toEqual([false, false]);
      expect(second.id).not.toBe(first.id);
      expect(await redis.hget(bullJobKey(prefix, 'pages', first.id), 'deid')).toBeNull();
      const { jobs, total } = await queues.list({ personId: click.personId }, { offset: 0, limit: 10 });
      expect(total).toBe(2);
      expect(new Set(jobs.map((job) => job.id))).toEqual(new Set([first.id, second.id]));
    });

    it('a job whose index entry Redis refuses is not accepted', async () => {
      const { queues, prefix } = queuesOf();
      const click = clickOf();
      // The person's set of jobs is a string: Redis answers the index's write with WRONGTYPE.
      await redis.set(`${prefix}:kitsu-actions:idx:person:${click.personId}`, 'not a sorted set');
      const refused = queues.enqueue(debug, click);
      await expect(refused).rejects.toMatchObject({ name: 'QueueUnavailableError' });
      await expect(refused).rejects.toThrow(/WRONGTYPE/);
    });

    it('what serialising a job throws, even no Error at all, is passed on as it is', async () => {
      const { queues } = queuesOf({ dedupWindowMs: 0 });
      const throwing = (value: unknown): RawRequest => ({
        ...raw,
        fields: {
          odd: {
            toJSON(): never {
              throw value;
            },
          },
        },
      });
      await expect(queues.enqueue(debug, clickOf(), throwing('not JSON'))).rejects.toBe('not JSON');
      await expect(queues.enqueue(debug, clickOf(), throwing(null))).rejects.toBeNull();
      await queues.ping();
    });
  });

  describe('status, result and find', () => {
    it('a job that failed once waits to retry, saying after what', async () => {
      const { queues, prefix } = queuesOf();
      const click = clickOf();
      const { id } = await queues.enqueue(debug, click);
      await work(prefix, id, () => Promise.reject(new Error('Farm unreachable')), 'failed');
      const timestamp = Number(await redis.hget(bullJobKey(prefix, 'pages', id), 'timestamp'));
      expect(await queues.status(id)).toStrictEqual({
        id,
        actionId: 'debug',
        actionName: 'Debug',
        kind: 'debug',
        state: 'queued',
        progress: { percent: 0, message: 'Waiting to retry (attempt 2 of 3) after: Farm unreachable' },
        attempts: 1,
        maxAttempts: 3,
        requestedBy: { personId: click.personId },
        projectId: click.projectId,
        projectIds: [click.projectId],
        taskIds: click.taskIds,
        taskCount: 2,
        createdAt: new Date(timestamp).toISOString(),
        links: [{ label: 'Status', href: `/jobs/${id}` }],
      });
    });

    it('a completed job: its result and report as the worker recorded them, its times, its page', async () => {
      const { queues, prefix } = queuesOf();
      const click = clickOf();
      const { id } = await queues.enqueue(debug, click);
      const key = bullJobKey(prefix, 'pages', id);
      // What the status view shows of the page, and the page itself.
      const shown = { type: 'page', title: 'Selection', summary: '2 tasks', links: [] };
      const page = { ...shown, html: '<p>2 tasks</p>' };
      const report: ReportOutcome = {
        state: 'posted',
        message: 'Commented on 2 of 2 task(s) in Kitsu.',
        commented: 2,
        at: '2026-01-02T03:05:00.000Z',
      };
      await work(
        prefix,
        id,
        async (job) => {
          await job.updateProgress({ percent: 50, message: 'Half way' });
          await recordJobFields(redis, key, {
            result: JSON.stringify(shown),
            report: JSON.stringify(report),
          });
          return page;
        },
        'completed',
      );
      const [processedOn, finishedOn] = (await redis.hmget(key, 'processedOn', 'finishedOn')).map(Number);
      const view = await queues.status(id);
      expect(view).toMatchObject({
        id,
        state: 'completed',
        progress: { percent: 100, message: '2 tasks' },
        attempts: 1,
        result: {
          type: 'page',
          title: 'Selection',
          summary: '2 tasks',
          links: [],
          href: `/jobs/${id}/result`,
        },
        report,
        startedAt: new Date(processedOn ?? 0).toISOString(),
        finishedAt: new Date(finishedOn ?? 0).toISOString(),
        links: [
          { label: 'Status', href: `/jobs/${id}` },
          { label: 'Selection', href: `/jobs/${id}/result` },
        ],
      });
      expect(await queues.result(id)).toEqual(page);
      const found = await queues.find(id);
      expect(found?.view).toEqual(view);
      expect(found?.job.data).toEqual(jobDataOf(debug, click));
      expect(found?.job.returnvalue).toEqual(page);
    });

    it('a job that ended cancelled, as the worker recorded it, reads as cancelled and lists so', async () => {
      const { queues, prefix } = queuesOf();
      const click = clickOf();
      const { id } = await queues.enqueue(debug, click);
      const outcome: CancelOutcome = {
        reason: 'Stopped on the farm',
        by: 'flamenco',
        at: '2026-01-02T03:05:00.000Z',
      };
      await work(
        prefix,
        id,
        async () => {
          await recordJobFields(redis, bullJobKey(prefix, 'pages', id), {
            cancelled: JSON.stringify(outcome),
          });
          throw new UnrecoverableError('Stopped on the farm');
        },
        'failed',
      );
      expect(await queues.status(id)).toMatchObject({
        state: 'cancelled',
        error: { message: 'Stopped on the farm', retryable: false },
      });
      const cancelled = await queues.list({ state: 'cancelled' }, { offset: 0, limit: 10 });
      expect(cancelled.jobs.map((job) => job.id)).toEqual([id]);
    });

    it('a queued job: no result yet, and its tasks (none for a job of no tasks)', async () => {
      const { queues } = queuesOf();
      const click = clickOf();
      const { id } = await queues.enqueue(debug, click);
      expect(await queues.result(id)).toBeUndefined();
      expect((await queues.status(id))?.taskIds).toEqual(click.taskIds);
      const none = await queues.enqueue(debug, clickOf({ taskIds: [] }));
      expect(await queues.status(none.id)).toMatchObject({ taskIds: [], taskCount: 0 });
    });

    it('a job that does not exist, or is not ours, is none', async () => {
      const { queues } = queuesOf();
      const missing = `pages-${randomUUID()}`;
      expect(await queues.status(missing)).toBeUndefined();
      expect(await queues.result(missing)).toBeUndefined();
      expect(await queues.find(missing)).toBeUndefined();
      const foreign = `pages-${randomUUID()}`;
      await queues.queue('pages').add('debug', { not: 'a job of ours' }, { jobId: foreign });
      expect(await queues.status(foreign)).toBeUndefined();
      expect(await queues.find(foreign)).toBeUndefined();
    });

    it('a job whose data is not JSON: find says so, not that Redis is unavailable', async () => {
      const { queues, prefix } = queuesOf();
      const { id } = await queues.enqueue(debug, clickOf());
      await redis.hset(bullJobKey(prefix, 'pages', id), 'data', '{cut short');
      await expect(queues.find(id)).rejects.toThrow(SyntaxError);
    });

    it('a job queued without an index entry is indexed as it was created, then listed in its place', async () => {
      const { queues } = queuesOf();
      const click = clickOf();
      const { id: newer } = await queues.enqueue(debug, click);
      const older = `pages-${randomUUID()}`;
      const createdAt = Date.UTC(2026, 0, 2, 3, 4, 5);
      await queues.queue('pages').add('debug', jobDataOf(debug, { ...click, taskIds: [randomUUID()] }), {
        jobId: older,
        timestamp: createdAt,
      });
      const view = await queues.status(older);
      expect(view).toMatchObject({ id: older, createdAt: '2026-01-02T03:04:05.000Z', taskCount: 1 });
      expect(await queues.status(older)).toEqual(view);
      const { jobs, total } = await queues.list({ personId: click.personId }, { offset: 0, limit: 10 });
      expect(total).toBe(2);
      expect(jobs.map((job) => job.id)).toEqual([newer, older]);
    });
  });

  describe('cancel', () => {
    const who = { by: 'Marc Dubois', personId: randomUUID() };

    it('a queued job: the request is stored and the job reads as cancelled at once', async () => {
      const { queues, prefix } = queuesOf();
      const { id } = await queues.enqueue(debug, clickOf());
      const answer = await queues.cancel(id, who, 60);
      if (answer.outcome !== 'requested') throw new Error(`not requested: ${answer.outcome}`);
      expect(answer.request).toStrictEqual({
        jobId: id,
        by: 'Marc Dubois',
        personId: who.personId,
        at: expect.any(String) as string,
        reason: 'Cancelled by Marc Dubois',
      });
      expect(answer.view).toMatchObject({
        id,
        state: 'cancelled',
        error: { message: 'Cancelled by Marc Dubois' },
      });
      expect(JSON.parse((await redis.get(cancelKey(prefix, id))) ?? 'null')).toEqual(answer.request);
      // Asked again: the job has already ended, for people.
      expect(await queues.cancel(id, who, 60)).toMatchObject({
        outcome: 'finished',
        view: { id, state: 'cancelled' },
      });
    });

    it('a cancel by no one person names no person', async () => {
      const { queues } = queuesOf();
      const { id } = await queues.enqueue(debug, clickOf());
      const answer = await queues.cancel(id, { by: 'someone (AUTH_MODE=none)' }, 60);
      if (answer.outcome !== 'requested') throw new Error(`not requested: ${answer.outcome}`);
      expect(answer.request).toStrictEqual({
        jobId: id,
        by: 'someone (AUTH_MODE=none)',
        at: expect.any(String) as string,
        reason: 'Cancelled by someone (AUTH_MODE=none)',
      });
    });

    it('a job that does not exist, or of no queue, is unknown', async () => {
      const { queues } = queuesOf();
      expect(await queues.cancel(`pages-${randomUUID()}`, who, 60)).toEqual({ outcome: 'unknown' });
      expect(await queues.cancel('nothing', who, 60)).toEqual({ outcome: 'unknown' });
    });

    it('a job that ended, then went, while its cancel was asked: unknown', async () => {
      const { prefix } = queuesOf();
      /** Answers status reads from `answers` first (what readers saw at each moment), then reads Redis. */
      class Moments extends JobQueues {
        answers: Array<JobStatusView | undefined> = [];
        override async status(...args: Parameters<JobQueues['status']>): Promise<JobStatusView | undefined> {
          return this.answers.length > 0 ? this.answers.shift() : super.status(...args);
        }
      }
      const queues = new Moments(connection, { prefix, timeoutMs: 2000, dedupWindowMs: 0 });
      opened.push(queues);
      const { id } = await queues.enqueue(debug, clickOf());
      const queued = await queues.status(id);
      await work(
        prefix,
        id,
        () => Promise.resolve({ type: 'page', title: 'T', summary: '', links: [], html: '' }),
        'completed',
      );
      queues.answers = [queued, undefined];
      expect(await queues.cancel(id, who, 60)).toEqual({ outcome: 'unknown' });
    });
  });

  describe('list and scopes', () => {
    it('newest first, in pages, with the exact count of what matches', async () => {
      const { queues, prefix } = queuesOf();
      const pat = clickOf();
      const kim = clickOf();
      const made = [
        await queues.enqueue(debug, { ...pat, taskIds: [randomUUID()] }),
        await queues.enqueue(again, { ...pat, actionId: 'again' }),
        await queues.enqueue(debug, { ...pat, taskIds: [randomUUID()] }),
        await queues.enqueue(debug, kim),
        await queues.enqueue(again, { ...kim, actionId: 'again' }),
      ];
      // Newest first; jobs of the same millisecond in reverse order of their ids, as Redis sorts them.
      const created = await Promise.all(
        made.map(async ({ id }) => ({
          id,
          at: Number(await redis.hget(bullJobKey(prefix, 'pages', id), 'timestamp')),
        })),
      );
      const newestFirst = created.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)).map(({ id }) => id);
      const page = async (offset: number, limit: number): Promise<{ ids: string[]; total: number }> => {
        const { jobs, total } = await queues.list({}, { offset, limit });
        return { ids: jobs.map((job) => job.id), total };
      };
      expect(await page(0, 2)).toEqual({ ids: newestFirst.slice(0, 2), total: 5 });
      expect(await page(2, 2)).toEqual({ ids: newestFirst.slice(2, 4), total: 5 });
      expect(await page(4, 2)).toEqual({ ids: newestFirst.slice(4), total: 5 });

      const pats = await queues.list({ personId: pat.personId }, { offset: 0, limit: 10 });
      expect(pats.total).toBe(3);
      expect(pats.jobs.map((job) => job.id)).toEqual(
        newestFirst.filter((id) => made.slice(0, 3).some((job) => job.id === id)),
      );
      const agains = await queues.list({ actionId: 'again' }, { offset: 0, limit: 10 });
      expect(agains.total).toBe(2);
      const [entry] = (
        await queues.list({ personId: kim.personId, actionId: 'again' }, { offset: 0, limit: 10 })
      ).jobs;
      expect(entry).toMatchObject({
        id: made[4]?.id,
        actionId: 'again',
        actionName: 'Debug again',
        state: 'queued',
        requestedBy: { personId: kim.personId },
        taskCount: 2,
      });
      expect(entry).not.toHaveProperty('taskIds');
    });

    it('a job removed by hand is left out, and leaves the index once its entry is older than an enqueue', async () => {
      const { queues, prefix } = queuesOf();
      const click = clickOf();
      const kept = await queues.enqueue(debug, { ...click, taskIds: [randomUUID()] });
      const removed = await queues.enqueue(debug, { ...click, taskIds: [randomUUID()] });
      await redis.del(bullJobKey(prefix, 'pages', removed.id));
      // Written a moment ago: as a job being queued looks between its index entry and BullMQ's add.
      const first = await queues.list({ personId: click.personId }, { offset: 0, limit: 10 });
      expect(first).toMatchObject({ total: 2, jobs: [{ id: kept.id }] });
      expect(first.jobs).toHaveLength(1);
      expect((await queues.list({ personId: click.personId }, { offset: 0, limit: 10 })).total).toBe(2);
      // Past the window (10 s): gone for good.
      const all = `${prefix}:kitsu-actions:idx:all`;
      const created = Number(await redis.zscore(all, removed.id));
      await redis.zadd(all, created - 11_000, removed.id);
      const aged = await queues.list({ personId: click.personId }, { offset: 0, limit: 10 });
      // The count was taken before the job was found missing.
      expect(aged.total).toBe(2);
      const then = await queues.list({ personId: click.personId }, { offset: 0, limit: 10 });
      expect(then.total).toBe(1);
      expect(then.jobs.map((job) => job.id)).toEqual([kept.id]);
    });

    it('the scopes are the sets of productions jobs belong to', async () => {
      const { queues } = queuesOf();
      const [a = '', b = ''] = [randomUUID(), randomUUID()].sort();
      await queues.enqueue(debug, clickOf({ projectId: b }));
      await queues.enqueue(debug, clickOf({ projectId: a, projectIds: [b, a] }));
      const none = clickOf();
      delete none.projectId;
      await queues.enqueue(debug, none);
      expect((await queues.scopes()).sort()).toEqual([`${a},${b}`, b].sort());
    });
  });

  describe('connections', () => {
    it('the same queue object serves a name, and its errors are its calls’', () => {
      const { queues } = queuesOf();
      expect(queues.queue('pages')).toBe(queues.queue('pages'));
      expect(queues.queue('render')).not.toBe(queues.queue('pages'));
      // BullMQ prints an error event nobody listens to on the console.
      const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        queues.queue('render').emit('error', new Error('connection lost'));
        expect(printed).not.toHaveBeenCalled();
      } finally {
        printed.mockRestore();
      }
    });

    it('reads made while the connection is still being made wait for it', async () => {
      const fresh = createRedis(inject('redisUrl'), 'producer', 2000);
      fresh.on('error', () => undefined);
      const { queues } = queuesOf({ on: fresh });
      expect(readerOf(queues).status).toBe('connecting');
      expect(await queues.scopes()).toEqual([]);
      const second = new JobQueues(fresh, { prefix: '{kaq-connect}', timeoutMs: 2000, dedupWindowMs: 0 });
      opened.push(second);
      const reader = readerOf(second);
      // Connected, not ready yet (Redis has not answered the ready check): the read waits all the same.
      const { status, read } = await new Promise<{ status: string; read: Promise<string[]> }>((resolve) => {
        reader.once('connect', () => resolve({ status: reader.status, read: second.scopes() }));
      });
      expect(status).toBe('connect');
      expect(await read).toEqual([]);
      await queues.close();
      fresh.disconnect();
    });

    it('a read on a connection that has not begun to connect waits for it as long as a call may take', async () => {
      const lazy = new Redis(inject('redisUrl'), { lazyConnect: true, enableOfflineQueue: false });
      const queues = new JobQueues(lazy, { prefix: '{kaq-lazy}', timeoutMs: 200, dedupWindowMs: 0 });
      opened.push(queues);
      expect(readerOf(queues).status).toBe('wait');
      await expect(queues.scopes()).rejects.toMatchObject(unavailable('no answer within 200 ms'));
      lazy.disconnect();
    });

    it('after close, reads and calls say the connection ended, and ids of no queue are none without Redis', async () => {
      const own = createRedis(inject('redisUrl'), 'producer', 2000);
      own.on('error', () => undefined);
      await ready(own);
      const listeners = own.listenerCount('error');
      const { queues } = queuesOf({ on: own });
      queues.queue('pages');
      queues.queue('render');
      await queues.scopes();
      const pages = queues.queue('pages');
      await queues.close();
      // The queues let go of the connection they were given.
      expect(own.listenerCount('error')).toBe(listeners);
      expect(queues.queue('pages')).not.toBe(pages);
      await ended(readerOf(queues));
      await expect(queues.scopes()).rejects.toMatchObject(unavailable('connection is end'));
      await expect(queues.status(`pages-${randomUUID()}`)).rejects.toMatchObject(
        unavailable('connection is end'),
      );
      expect(await queues.status('nothing')).toBeUndefined();
      expect(await queues.result('nothing')).toBeUndefined();
      expect(await queues.find('nothing')).toBeUndefined();
      own.disconnect();
      await ended(own);
      await expect(queues.ping()).rejects.toMatchObject(unavailable('connection is end'));
    });
  });
});

describe('a Redis that does not answer', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('a call and a read give up after timeoutMs, as QueueUnavailableError', async () => {
    const connection = createRedis(server.url, 'producer', 10_000);
    connection.on('error', () => undefined);
    const admin = createRedis(server.url, 'consumer');
    admin.on('error', () => undefined);
    const queues = new JobQueues(connection, { prefix: '{kaq-paused}', timeoutMs: 300, dedupWindowMs: 0 });
    try {
      await ready(connection);
      expect(await queues.scopes()).toEqual([]);
      // Every client's commands wait, the connections stay up: no answer, and no error either.
      await admin.call('CLIENT', 'PAUSE', '8000', 'ALL');
      const timedOut = { ...unavailable('no answer within 300 ms'), cause: { name: 'RedisTimeoutError' } };
      await expect(queues.ping()).rejects.toMatchObject(timedOut);
      await expect(queues.scopes()).rejects.toMatchObject(timedOut);
    } finally {
      await queues.close();
      connection.disconnect();
      admin.disconnect();
    }
  });
});

describe('a Redis that goes away', () => {
  it('the reader tries again quietly: its errors are those of the reads that meet them', async () => {
    const server = await startRedisServer();
    const connection = createRedis(server.url, 'producer');
    connection.on('error', () => undefined);
    const queues = new JobQueues(connection, { prefix: '{kaq-gone}', timeoutMs: 2000, dedupWindowMs: 0 });
    // ioredis prints an error event nobody listens to on the console.
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await queues.scopes()).toEqual([]);
      const reader = readerOf(queues);
      let attempts = 0;
      const triedTwice = new Promise<void>((resolve) => {
        reader.on('reconnecting', () => {
          attempts += 1;
          if (attempts === 2) resolve();
        });
      });
      await server.stop({ hard: true });
      // The first attempt met no Redis (an error event) before the second was planned.
      await triedTwice;
      expect(printed).not.toHaveBeenCalled();
      await expect(queues.scopes()).rejects.toMatchObject(unavailable('connection is reconnecting'));
    } finally {
      printed.mockRestore();
      await queues.close();
      connection.disconnect();
      await server.destroy();
    }
  });
});
