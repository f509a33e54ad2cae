import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  JobCancelled,
  JobData,
  JobProgress,
  cancelReason,
  createRedis,
  jobCapabilities,
  loadConfig,
  resultSummaryOf,
  type CancelRequest,
  type ReportSettings,
} from '@kitsu-actions/shared';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient } from '@kitsu-actions/zou';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { createFarms } from './farms/index.ts';
import { handlers } from './handlers/index.ts';
import type { Handler } from './handlers/types.ts';
import type { ProcessorJobStore } from './job-store.ts';
import { createProcessor, type ProcessorDeps } from './processor.ts';
import { memoryJobStore } from '../test/memory-store.ts';

// How the processor ends a job, seen from outside: the comment it leaves in Kitsu (on which attempt,
// saying what), what it records for status pages, the progress a handler reports.

const publicUrl = 'https://kitsu.studio.example/kitsu-actions';
const prefix = `{kape-${randomUUID().slice(0, 8)}}`;
const capabilities = jobCapabilities('links-in-kitsu-open-with-this');
/** Every line the worker logged, as JSON. */
const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'debug' },
  { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
);
/** The lines logged about one job, without pino's own fields. */
const logOf = (jobId: string) =>
  lines
    .filter((line) => line['jobId'] === jobId)
    .map(({ time: _time, pid: _pid, hostname: _hostname, ...line }) => line);

let zou: FakeZou;
let connection: Redis;
let queue: Queue;
let events: QueueEvents;
let worker: Worker;
let task: string;
/** What the worker's processor is made of. */
let deps: ProcessorDeps;

/** What the processor recorded for status pages, per job. */
const recorded = new Map<string, Record<string, unknown>>();
/** Cancels a person asked for before the job started, per job. */
const cancels = new Map<string, CancelRequest>();
/** Jobs whose records for status pages fail (Redis refusing writes). */
const unrecordable = new Set<string>();
const refusal = "READONLY You can't write against a read only replica.";
/** The refusal, as pino logs an error. */
const refused: unknown = expect.objectContaining({ message: refusal });
/** How many times each job's handler ran. */
const runs = new Map<string, number>();

function storeOf(jobId: string): ProcessorJobStore {
  return {
    ...memoryJobStore(new Map(), { cancelRequest: () => Promise.resolve(cancels.get(jobId)) }),
    recordForStatus: (fields) => {
      if (unrecordable.has(jobId)) return Promise.reject(new Error(refusal));
      recorded.set(jobId, { ...recorded.get(jobId), ...fields });
      return Promise.resolve();
    },
  };
}

// One ending per action id.
const endings: Record<string, Handler<'debug'>> = {
  done: (context) => handlers.debug(context),
  flaky: () => Promise.reject(new Error('the disk is full')),
  broken: () => Promise.reject(new UnrecoverableError('the template is broken')),
  'farm-cancelled': () =>
    Promise.reject(
      new JobCancelled({
        reason: 'Cancelled on Flamenco: stopped by the wrangler',
        by: 'Flamenco',
        at: new Date().toISOString(),
      }),
    ),
  progress: async (context) => {
    await context.progress(40, 'Half way', [
      { label: 'Farm job', href: 'https://farm.studio.example/jobs/7' },
    ]);
    await context.progress(60, 'No links');
    return handlers.debug(context);
  },
};

beforeAll(async () => {
  zou = await startFakeZou();
  task = zou.seed.ids.tasks.layoutSh010;
  const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix, PUBLIC_URL: publicUrl });
  connection = createRedis(config.redis.url, 'consumer');
  queue = new Queue('pages', { connection, prefix });
  events = new QueueEvents('pages', { connection: createRedis(config.redis.url, 'consumer'), prefix });
  await events.waitUntilReady();
  deps = {
    handlers: {
      ...handlers,
      debug: (context) => {
        const id = context.job.id ?? '';
        runs.set(id, (runs.get(id) ?? 0) + 1);
        const ending = endings[context.data.action.id];
        if (ending === undefined) throw new Error(`no ending ${context.data.action.id}`);
        return ending(context);
      },
    },
    logger,
    publicUrl,
    capabilities,
    zou: createZouClient({ baseUrl: zou.url, auth: { token: zou.seed.botToken } }),
    farms: createFarms(config, logger),
    store: storeOf,
    resultPageBytes: config.storage.resultPageBytes,
  };
  const processor = createProcessor(deps);
  worker = new Worker('pages', processor, { connection: createRedis(config.redis.url, 'consumer'), prefix });
  await worker.waitUntilReady();
});

afterAll(async () => {
  await worker.close();
  await events.close();
  await queue.close();
  connection.disconnect();
  await zou.close();
});

/** The data of a click on `actionId`; `report: 'none'`, an action that reports nothing. */
function jobData(actionId: string, report: ReportSettings | 'none' = { comment: true }): JobData {
  return {
    request: {
      actionId,
      personId: randomUUID(),
      taskIds: [task],
      entityType: 'shot',
      origin: {},
      mode: 'ajax',
      receivedAt: new Date().toISOString(),
    },
    action: {
      id: actionId,
      name: `Debug ${actionId}`,
      kind: 'debug',
      entityType: 'all',
      ajax: true,
      options: {},
      ...(report === 'none' ? {} : { report }),
    },
  };
}

/** Runs a job to its end; its id, final state, data and error, and the comments left about it in Kitsu. */
async function run(data: unknown, options: { attempts?: number; id?: string } = {}) {
  const id = options.id ?? `pages-${randomUUID()}`;
  const job = await queue.add('debug', data, {
    jobId: id,
    ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
  });
  const error = await job.waitUntilFinished(events, 10_000).then(
    () => undefined,
    (failure: unknown) => (failure instanceof Error ? failure.message : String(failure)),
  );
  const done = await Job.fromId(queue, id);
  if (done === undefined) throw new Error(`job ${id} vanished`);
  const comments = zou.state.comments
    .filter((comment) => comment.text?.includes(`/jobs/${id}`) === true)
    .map((comment) => comment.text ?? '');
  return { id, done, state: await done.getState(), error, comments, data: JobData.safeParse(done.data).data };
}

const linkOf = (id: string): string => `${publicUrl}/jobs/${id}?cap=${capabilities.of(id)}`;

describe('a job that completes', () => {
  it('comments once, with a status link that opens (it carries the capability), and records its summary', async () => {
    const before = Date.now();
    const { id, done, state, comments, data } = await run(
      jobData('done', { comment: true, statusOnSuccess: 'wfa' }),
    );
    const took = Date.now() - before;
    expect(state).toBe('completed');
    const page = done.returnvalue as { title: string; summary: string };
    expect(comments).toEqual([
      `kitsu-actions: "Debug done" completed (${page.title}: ${page.summary}).\n\nStatus and result: ${linkOf(id)}`,
    ]);
    // The status asked for on success.
    expect(zou.state.tasks.get(task)?.task_status_id).toBe(zou.seed.ids.taskStatuses.wfa);
    expect(data?.report).toMatchObject({ state: 'posted', commented: 1 });
    expect(data?.report?.message).toMatch(/status set to wfa/);
    expect(recorded.get(id)).toEqual({
      report: data?.report,
      result: resultSummaryOf('debug', done.returnvalue),
    });
    // A debug line at its start, one info line at its end, each naming the job, the action and who.
    const who = { jobId: id, actionId: 'done', personId: data?.request.personId };
    const log = logOf(id).filter((line) => line['msg'] === 'job started' || line['msg'] === 'job completed');
    expect(log).toEqual([
      { level: 20, ...who, kind: 'debug', attempt: 1, tasks: 1, msg: 'job started' },
      {
        level: 30,
        ...who,
        kind: 'debug',
        attempt: 1,
        tasks: 1,
        ms: expect.any(Number) as unknown,
        msg: 'job completed',
      },
    ]);
    // The run's own time, within the time the test waited for it.
    const ms = log[1]?.['ms'];
    expect(Number.isInteger(ms) && Number(ms) >= 0 && Number(ms) <= took).toBe(true);
  });

  it('whose outcome and summary cannot be recorded still completes, and says what was not saved', async () => {
    const id = `pages-${randomUUID()}`;
    unrecordable.add(id);
    const { state, data } = await run(jobData('done'), { id });
    expect(state).toBe('completed');
    // The report is kept with the job's data all the same.
    expect(data?.report).toMatchObject({ state: 'posted', commented: 1 });
    expect(recorded.get(id)).toBeUndefined();
    const warnings = logOf(id).filter((line) => line['level'] === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        err: refused,
        outcome: data?.report,
        msg: 'report outcome not saved',
      }),
      expect.objectContaining({
        err: refused,
        msg: 'result summary not saved',
      }),
    ]);
  });

  it('without report settings, comments nothing and records only its summary', async () => {
    const { id, done, state, comments, data } = await run(jobData('done', 'none'));
    expect(state).toBe('completed');
    expect(comments).toEqual([]);
    expect(data?.report).toBeUndefined();
    expect(recorded.get(id)).toEqual({ result: resultSummaryOf('debug', done.returnvalue) });
  });

  it('reports each progress with its links, and without links when there are none', async () => {
    const seen: unknown[] = [];
    const id = `pages-${randomUUID()}`;
    const listener = ({ jobId, data }: { jobId: string; data: unknown }): void => {
      if (jobId === id) seen.push(data);
    };
    events.on('progress', listener);
    try {
      const { state } = await run(jobData('progress', 'none'), { id });
      expect(state).toBe('completed');
    } finally {
      events.off('progress', listener);
    }
    // Then the debug page's own progress.
    expect(seen.slice(0, 2).map((progress) => JobProgress.parse(progress))).toEqual([
      {
        percent: 40,
        message: 'Half way',
        links: [{ label: 'Farm job', href: 'https://farm.studio.example/jobs/7' }],
      },
      { percent: 60, message: 'No links' },
    ]);
    expect(seen[1]).not.toHaveProperty('links');
  });
});

describe('the status link left in Kitsu', () => {
  it('carries the job capability when the worker has one (AUTH_MODE=token), and none otherwise', async () => {
    const own = `{kapl-${randomUUID().slice(0, 8)}}`;
    const ownQueue = new Queue('pages', { connection, prefix: own });
    // A worker that fetches by hand, so that each job runs in a processor made for it.
    const fetcher = new Worker('pages', null, {
      connection: createRedis(inject('redisUrl'), 'consumer'),
      prefix: own,
    });
    try {
      for (const [caps, link] of [
        [undefined, (id: string) => `${publicUrl}/jobs/${id}`],
        [capabilities, linkOf],
      ] as const) {
        const id = `pages-${randomUUID()}`;
        await ownQueue.add('debug', jobData('done'), { jobId: id });
        const token = randomUUID();
        const job: Job | undefined = await fetcher.getNextJob(token);
        expect(job?.id).toBe(id);
        if (job === undefined) return;
        await createProcessor({ ...deps, capabilities: caps })(job, token);
        const texts = zou.state.comments.filter((comment) => comment.text?.includes(`/jobs/${id}`) === true);
        expect(texts.map((comment) => comment.text?.split('Status and result: ')[1])).toEqual([link(id)]);
        await job.moveToCompleted('done', token, false);
      }
    } finally {
      await fetcher.close();
      await ownQueue.close();
    }
  });
});

describe('a job that fails', () => {
  it('is reported once, on its last attempt, saying why', async () => {
    const { id, state, done, error, comments } = await run(jobData('flaky'), { attempts: 3 });
    expect(state).toBe('failed');
    expect(error).toBe('the disk is full');
    expect(done.attemptsMade).toBe(3);
    expect(runs.get(id)).toBe(3);
    expect(comments).toEqual([
      `kitsu-actions: "Debug flaky" failed: the disk is full\n\nDetails: ${linkOf(id)}`,
    ]);
  });

  it('with no attempts set, is reported on its one attempt', async () => {
    const { id, state, comments } = await run(jobData('flaky'));
    expect(state).toBe('failed');
    expect(runs.get(id)).toBe(1);
    expect(comments).toEqual([
      `kitsu-actions: "Debug flaky" failed: the disk is full\n\nDetails: ${linkOf(id)}`,
    ]);
  });

  it('that cannot be retried is reported at once, on its first attempt of several', async () => {
    const { id, state, done, comments } = await run(jobData('broken'), { attempts: 3 });
    expect(state).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(comments).toEqual([
      `kitsu-actions: "Debug broken" failed: the template is broken\n\nDetails: ${linkOf(id)}`,
    ]);
  });

  it('whose data is not an object, or misses fields, is refused naming each problem', async () => {
    expect((await run('render everything')).error).toBe(
      'Invalid job data: (data): Invalid input: expected object, received string',
    );
    const { error } = await run({ request: jobData('done').request, action: { kind: 'debug' } });
    expect(error).toMatch(/^Invalid job data: action\.id: [^;]+; action\.name: [^;]+; /);
  });
});

describe('a job that ends cancelled', () => {
  it('by the farm, is reported as cancelled, with the farm named, and not retried', async () => {
    const { id, state, done, error, comments } = await run(jobData('farm-cancelled'), { attempts: 3 });
    expect(state).toBe('failed');
    expect(error).toBe('Cancelled on Flamenco: stopped by the wrangler');
    expect(done.attemptsMade).toBe(1);
    expect(recorded.get(id)?.['cancelled']).toMatchObject({ by: 'Flamenco' });
    expect(logOf(id).filter((line) => line['level'] === 40)).toEqual([]);
    expect(comments).toEqual([
      `kitsu-actions: "Debug farm-cancelled" was cancelled on Flamenco: stopped by the wrangler.\n\nDetails: ${linkOf(id)}`,
    ]);
  });

  it('whose outcome cannot be recorded still ends cancelled, and says it was not saved', async () => {
    const id = `pages-${randomUUID()}`;
    unrecordable.add(id);
    const { state, error, comments } = await run(jobData('farm-cancelled'), { id });
    expect(state).toBe('failed');
    expect(error).toBe('Cancelled on Flamenco: stopped by the wrangler');
    expect(comments).toHaveLength(1);
    expect(logOf(id).filter((line) => line['msg'] === 'cancel outcome not saved')).toEqual([
      expect.objectContaining({ level: 40, err: refused }),
    ]);
  });

  it('before it started, never runs, records who cancelled it, and reports nothing', async () => {
    const id = `pages-${randomUUID()}`;
    const request: CancelRequest = {
      jobId: id,
      by: 'marc.dubois@studio.example',
      at: new Date().toISOString(),
      reason: cancelReason('marc.dubois@studio.example'),
    };
    cancels.set(id, request);
    const { state, error, comments, done, data } = await run(jobData('done'), { id, attempts: 3 });
    expect(state).toBe('failed');
    expect(error).toBe('Cancelled by marc.dubois@studio.example before it started');
    expect(done.attemptsMade).toBe(1);
    expect(runs.get(id)).toBeUndefined();
    expect(recorded.get(id)?.['cancelled']).toEqual({
      reason: 'Cancelled by marc.dubois@studio.example before it started',
      by: 'marc.dubois@studio.example',
      at: request.at,
    });
    expect(logOf(id).filter((line) => line['msg'] === 'job cancelled before it started')).toEqual([
      expect.objectContaining({ level: 30, by: 'marc.dubois@studio.example' }),
    ]);
    // Nothing was done, so nothing is reported.
    expect(comments).toEqual([]);
    expect(data?.report).toBeUndefined();
  });
});
