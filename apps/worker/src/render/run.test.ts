import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobProgress } from '@kitsu-actions/shared';
import { JobCancelled, RenderResult, cancelReason, createLogger } from '@kitsu-actions/shared';
import { recordingLogger } from '@kitsu-actions/testing';
import { memoryJobStore } from '../../test/memory-store.ts';
import {
  failureOf,
  flamencoSubmissions,
  runRenderHandler,
  startRenderWorldAndWorkers,
  type RenderWorld,
  withFarmsStopped,
} from '../../test/render-kit.ts';
import { FlamencoFarm, createFarms } from '../farms/index.ts';
import { describeProgress } from './run.ts';

// What a render job tells the person watching it (each step, the farm's progress, the result) and its
// log, what a run finds already done by an earlier one, a cancel made on the farm itself or between two
// polls, the rhythm of the polls and their retries, and a job without an id.

let world: RenderWorld;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ world, close } = await startRenderWorldAndWorkers(inject('redisUrl'), 'render-run-test'));
});

afterAll(() => close());

const submissionsOf = (jobId: string) => flamencoSubmissions(world, jobId);

const labels = ['E01 / SQ010 / SH010', 'E01 / SQ010 / SH020'];
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cancelRequestOf = (jobId: string) => ({
  jobId,
  by: 'marc.dubois@studio.example',
  at: new Date().toISOString(),
  reason: cancelReason('marc.dubois@studio.example'),
});

describe('a render, as the person watching it sees it', () => {
  it('says each step, then the farm progress without repeating itself, and ends with every farm link', async () => {
    const tasks = world.lightingTasks.slice(0, 2);
    const jobId = await world.enqueue('render-flamenco', tasks);
    const view = await world.finished(jobId);
    expect(view.state).toBe('completed');
    const farm = `Flamenco at ${world.flamenco.url}`;
    const links = submissionsOf(jobId).map((submission, index) => ({
      label: `Flamenco: ${labels[index] ?? ''}`,
      href: `${world.flamenco.url}/app/jobs/${submission.jobId}`,
    }));
    expect(links).toHaveLength(2);
    const progress = world.progress(jobId);
    expect(progress.slice(0, 5)).toEqual([
      { percent: 0, message: 'Reading the shots from Kitsu' },
      { percent: 0, message: `Checking 1 of 2 jobs with ${farm}` },
      { percent: 0, message: `Checking 2 of 2 jobs with ${farm}` },
      { percent: 0, message: `Submitting 1 of 2 shots to ${farm}`, links: [] },
      { percent: 0, message: `Submitting 2 of 2 shots to ${farm}`, links: links.slice(0, 1) },
    ]);
    const tracking = progress.slice(5, -1);
    expect(tracking.length).toBeGreaterThan(0);
    for (const [index, step] of tracking.entries()) {
      expect(step.message).toMatch(/^\d of 2 shots rendering(, .+)? on Flamenco, \d+%$/);
      expect(step.message.endsWith(`, ${step.percent}%`)).toBe(true);
      expect(step.links).toEqual(links);
      // A poll that changes nothing says nothing.
      if (index > 0) expect(step.message).not.toBe(tracking[index - 1]?.message);
    }
    expect(progress.at(-1)).toEqual({ percent: 100, message: '2 shots rendered on Flamenco', links });
    const result = RenderResult.parse(view.result);
    expect(result).toMatchObject({
      type: 'render',
      farm: 'flamenco',
      farmUrl: world.flamenco.url,
      summary: '2 shots rendered on Flamenco',
      links,
    });
    expect(result.shots).toMatchObject(
      submissionsOf(jobId).map((submission, index) => ({
        taskId: tasks[index],
        name: labels[index],
        farmJobId: submission.jobId,
        url: links[index]?.href,
        state: 'completed',
      })),
    );
  });

  it("shots failing on the farm fail the job, each named with the farm's reason", async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 2));
    await world.until(() => submissionsOf(jobId).length === 2, 'two submissions');
    for (const submission of submissionsOf(jobId)) {
      world.flamenco.control.failJob(submission.jobId, 'Blender crashed: out of memory');
    }
    const view = await world.finished(jobId);
    expect(view.state).toBe('failed');
    expect(view.error?.message).toMatch(
      new RegExp(
        `^2 of 2 shots failed on Flamenco at ${escaped(world.flamenco.url)}: E01 / SQ010 / SH010: [^;]*Blender crashed: out of memory; E01 / SQ010 / SH020: [^;]*Blender crashed: out of memory$`,
      ),
    );
  });

  it('a cancel on the farm itself ends the job cancelled, by the farm, naming each shot', async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 2));
    await world.until(() => submissionsOf(jobId).length === 2, 'two submissions');
    for (const submission of submissionsOf(jobId)) {
      // As the farm's own UI does it.
      const answer = await fetch(`${world.flamenco.url}/api/v3/jobs/${submission.jobId}/setstatus`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'cancel-requested', reason: 'stopped by the wrangler' }),
      });
      expect(answer.status).toBe(204);
    }
    const view = await world.finished(jobId);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toMatch(
      new RegExp(
        `^Cancelled on Flamenco at ${escaped(world.flamenco.url)}: E01 / SQ010 / SH010: [^;]+; E01 / SQ010 / SH020: [^;]+$`,
      ),
    );
  });
});

describe('a render run again', () => {
  it('finds every shot submitted and commented by the earlier run: nothing checked, submitted or commented twice', async () => {
    const taskId = world.lightingTasks[2] ?? '';
    const jobId = `render-${randomUUID()}`;
    const data = world.jobData('render-flamenco', [taskId]);
    const records = new Map<string, string>();
    const first = await runRenderHandler(world, 'flamenco', data, jobId, memoryJobStore(records));
    expect(first.summary).toBe('1 shot rendered on Flamenco');
    expect(JSON.parse(records.get(`shot:${taskId}`) ?? 'null')).toMatchObject({
      key: `${jobId}/${taskId}`,
      ref: { farmJobId: first.shots[0]?.farmJobId },
    });
    expect(records.has('commented:submitted')).toBe(true);
    const checks = world.flamenco.control.requests({ method: 'POST', path: '/api/v3/jobs/check' }).length;
    const submissions = world.flamenco.state.submissions.length;
    const comments = world.zou.state.comments.length;

    const said: string[] = [];
    const again = await runRenderHandler(world, 'flamenco', data, jobId, memoryJobStore(records), {
      onProgress: (progress) => said.push(progress.message),
    });
    // Straight to tracking: no shot to check or submit.
    expect(said[0]).toBe('Reading the shots from Kitsu');
    expect(said.slice(1).filter((message) => /^(Checking|Submitting) /.test(message))).toEqual([]);
    expect(said.at(-1)).toBe('1 shot rendered on Flamenco');
    expect(again.shots).toEqual(first.shots);
    expect(world.flamenco.control.requests({ method: 'POST', path: '/api/v3/jobs/check' })).toHaveLength(
      checks,
    );
    expect(world.flamenco.state.submissions).toHaveLength(submissions);
    expect(world.zou.state.comments).toHaveLength(comments);
  });
});

describe('a render cancelled before its run got far', () => {
  it('cancels only what its records name as farm jobs, and ends cancelled by the person', async () => {
    const [taskId = '', other = ''] = world.lightingTasks;
    const jobId = `render-${randomUUID()}`;
    const request = {
      jobId,
      by: 'marc.dubois@studio.example',
      at: new Date().toISOString(),
      reason: cancelReason('marc.dubois@studio.example'),
    };
    // An earlier run recorded the shot's key, then died before its submit; it had also commented, and
    // left a record of another shot this version cannot read.
    const records = new Map([
      [`shot:${taskId}`, JSON.stringify({ key: `${jobId}/${taskId}` })],
      ['commented:submitted', new Date().toISOString()],
      [`shot:${other}`, JSON.stringify({ submitted: true })],
    ]);
    const before = world.flamenco.control.requests().length;
    const said: JobProgress[] = [];
    const run = runRenderHandler(
      world,
      'flamenco',
      world.jobData('render-flamenco', [taskId]),
      jobId,
      memoryJobStore(records, { cancelRequest: () => Promise.resolve(request) }),
      { onProgress: (progress) => said.push(progress) },
    );
    const error: unknown = await run.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(JobCancelled);
    expect((error as JobCancelled).outcome).toEqual({
      reason: 'Cancelled by marc.dubois@studio.example',
      by: 'marc.dubois@studio.example',
      at: request.at,
    });
    expect(said.at(-1)).toEqual({ percent: 0, message: 'Cancelling the jobs on Flamenco', links: [] });
    // Nothing submitted or cancelled: the farm was only asked whether the shot's job existed.
    const asked = world.flamenco.control.requests().slice(before);
    expect(asked.filter((entry) => entry.method === 'POST')).toEqual([]);
  });
});

describe('a render run on a worker without what it needs', () => {
  it('fails for good, naming the setting, when the worker has no such farm or no Kitsu', async () => {
    const data = world.jobData('render-flamenco', world.lightingTasks.slice(0, 1));
    const before = world.flamenco.control.requests().length;
    const noFarm = await failureOf(
      runRenderHandler(world, 'flamenco', data, randomUUID(), memoryJobStore(), {
        farms: { flamenco: undefined },
      }),
    );
    expect(noFarm).toBeInstanceOf(UnrecoverableError);
    expect((noFarm as Error).message).toBe(
      `This worker has no Flamenco configured (FLAMENCO_URL is not set), so "${data.action.name}" cannot run here.`,
    );
    const noKitsu = await failureOf(
      runRenderHandler(world, 'flamenco', data, randomUUID(), memoryJobStore(), { withoutKitsu: true }),
    );
    expect(noKitsu).toBeInstanceOf(UnrecoverableError);
    expect((noKitsu as Error).message).toBe(
      `"${data.action.name}" reads the shots from Kitsu, and this worker has no Kitsu configured: set KITSU_URL and KITSU_BOT_TOKEN on the worker.`,
    );
    expect(world.flamenco.control.requests()).toHaveLength(before);
  });
});

describe('the Kitsu comment of a render', () => {
  it('comments the submitted shots with the job’s link when the action asks for it, and not otherwise', async () => {
    const tasks = world.lightingTasks.slice(2, 3);
    const data = world.jobData('render-flamenco', tasks);
    expect(data.action.report?.comment).toBe(true);
    const jobId = randomUUID();
    await runRenderHandler(world, 'flamenco', data, jobId, memoryJobStore());
    const ours = (id: string) => world.zou.state.comments.filter((comment) => comment.text.includes(id));
    expect(ours(jobId).map((comment) => comment.object_id)).toEqual(tasks);
    expect(ours(jobId)[0]?.text).toContain(`https://kitsu.studio.example/jobs/${jobId}`);
    const quiet = { ...data.action };
    delete quiet.report;
    const other = randomUUID();
    await runRenderHandler(world, 'flamenco', { ...data, action: quiet }, other, memoryJobStore());
    expect(ours(other)).toEqual([]);
  });
});

describe('a render on a farm without a page for its jobs', () => {
  it('links no farm job (Afanasy without AFANASY_JOB_URL), on the status page or in the result', async () => {
    const afanasy = world.config.farms.afanasy;
    if (afanasy === undefined) throw new Error('the world has no Afanasy');
    const { afanasy: pageless } = createFarms(
      {
        farms: {
          ...world.config.farms,
          afanasy: { host: afanasy.host, port: afanasy.port, jobUrl: undefined },
        },
      },
      createLogger({ level: 'silent', name: 'render-test' }),
    );
    const progress: JobProgress[] = [];
    const result = await runRenderHandler(
      world,
      'afanasy',
      world.jobData('render-cgru', world.lightingTasks.slice(0, 1)),
      randomUUID(),
      memoryJobStore(),
      { farms: { afanasy: pageless }, onProgress: (reported) => progress.push(reported) },
    );
    expect(result.shots.map((shot) => [shot.state, shot.url])).toEqual([['completed', undefined]]);
    expect(result.links).toEqual([]);
    expect(progress.flatMap((reported) => reported.links ?? [])).toEqual([]);
  });
});

describe('a render job without an id', () => {
  it('fails at once, for good, before Kitsu or the farm is asked anything', async () => {
    const before = world.flamenco.control.requests().length;
    const said: string[] = [];
    const error = await failureOf(
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', world.lightingTasks.slice(0, 1)),
        undefined,
        memoryJobStore(),
        { onProgress: (progress) => said.push(progress.message) },
      ),
    );
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('The job has no id');
    expect(said).toEqual([]);
    expect(world.flamenco.control.requests()).toHaveLength(before);
  });
});

describe('a render, as its log tells it', () => {
  it('logs each farm job it records, and one it finds again by its key instead of submitting it', async () => {
    const tasks = world.lightingTasks.slice(0, 2);
    const jobId = `render-${randomUUID()}`;
    const data = world.jobData('render-flamenco', tasks);
    const records = new Map<string, string>();
    const first = recordingLogger();
    const result = await runRenderHandler(world, 'flamenco', data, jobId, memoryJobStore(records), {
      log: first.logger,
    });
    const farmJobIds = result.shots.map((shot) => shot.farmJobId);
    expect(first.lines.filter((line) => line.msg === 'farm job recorded')).toMatchObject(
      tasks.map((taskId, index) => ({
        level: 30,
        taskId,
        farmJobId: farmJobIds[index],
        url: `${world.flamenco.url}/app/jobs/${farmJobIds[index] ?? ''}`,
      })),
    );
    expect(first.lines.filter((line) => line.msg === 'farm job found again')).toEqual([]);

    // As if the run had died after the farm took the second shot's job, before its ref was recorded.
    const [, second = ''] = tasks;
    records.set(`shot:${second}`, JSON.stringify({ key: `${jobId}/${second}` }));
    const submissions = world.flamenco.state.submissions.length;
    const again = recordingLogger();
    await runRenderHandler(world, 'flamenco', data, jobId, memoryJobStore(records), { log: again.logger });
    expect(world.flamenco.state.submissions).toHaveLength(submissions);
    expect(
      again.lines
        .filter((line) => line.msg === 'farm job found again' || line.msg === 'farm job recorded')
        .map(({ level, msg, submissionKey, taskId, farmJobId, url }) => ({
          level,
          msg,
          submissionKey,
          taskId,
          farmJobId,
          url,
        })),
    ).toEqual([
      {
        level: 30,
        msg: 'farm job found again',
        submissionKey: `${jobId}/${second}`,
        taskId: undefined,
        farmJobId: farmJobIds[1],
        url: undefined,
      },
      {
        level: 30,
        msg: 'farm job recorded',
        submissionKey: undefined,
        taskId: second,
        farmJobId: farmJobIds[1],
        url: `${world.flamenco.url}/app/jobs/${farmJobIds[1] ?? ''}`,
      },
    ]);
  });
});

describe('a render tracking its farm jobs', () => {
  it('waits the poll interval after a change, twice as long while nothing changes, up to the max; reads the stored cancel once a round', async () => {
    let cancelReads = 0;
    const store = memoryJobStore(new Map(), {
      cancelRequest: () => {
        cancelReads += 1;
        return Promise.resolve(undefined);
      },
    });
    // How far farm time moves during each wait: three waits where nothing happens, then both shots start,
    // then each renders its first half (the percentage alone changes), then they finish.
    const moves = [0, 0, 0, 150, 150, 1_000_000];
    const waits: { ms: number; cancelReads: number }[] = [];
    const sleep = (ms: number): Promise<void> => {
      waits.push({ ms, cancelReads });
      world.flamenco.control.advance(moves[waits.length - 1] ?? 1_000_000);
      return Promise.resolve();
    };
    const said: string[] = [];
    const result = await withFarmsStopped(world, () =>
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', world.lightingTasks.slice(0, 2)),
        `render-${randomUUID()}`,
        store,
        {
          onProgress: (progress) => said.push(progress.message),
          farms: { pollIntervalMs: 30, maxPollIntervalMs: 100, sleep },
        },
      ),
    );
    expect(result.summary).toBe('2 shots rendered on Flamenco');
    expect(said.filter((message) => message.endsWith('%'))).toEqual([
      '0 of 2 shots rendering, 2 queued on Flamenco, 0%',
      '2 of 2 shots rendering on Flamenco, 0%',
      '2 of 2 shots rendering on Flamenco, 50%',
      '0 of 2 shots rendering, 2 done on Flamenco, 100%',
    ]);
    // Two checks and two submits read it once each, then each round of both shots' polls once.
    expect(waits).toEqual([
      { ms: 30, cancelReads: 5 },
      { ms: 60, cancelReads: 6 },
      { ms: 100, cancelReads: 7 },
      { ms: 100, cancelReads: 8 },
      { ms: 30, cancelReads: 9 },
      { ms: 30, cancelReads: 10 },
    ]);
    expect(cancelReads).toBe(11);
  });

  it('a poll the farm cannot answer is retried, logged with its wait, doubling from the poll interval up to the max, the stored cancel read before each retry', async () => {
    let cancelReads = 0;
    const store = memoryJobStore(new Map(), {
      cancelRequest: () => {
        cancelReads += 1;
        return Promise.resolve(undefined);
      },
    });
    const waits: number[] = [];
    const sleep = (ms: number): Promise<void> => {
      waits.push(ms);
      world.flamenco.control.advance(1_000_000);
      return Promise.resolve();
    };
    // The first poll's four attempts each get 503 twice (the adapter's own retry), the fifth an answer.
    world.flamenco.control.failNext(8, 503, { method: 'GET', path: /^\/api\/v3\/jobs\/[^/]+$/ });
    const { logger, lines } = recordingLogger();
    const said: JobProgress[] = [];
    try {
      const result = await withFarmsStopped(world, () =>
        runRenderHandler(
          world,
          'flamenco',
          world.jobData('render-flamenco', world.lightingTasks.slice(0, 1)),
          `render-${randomUUID()}`,
          store,
          {
            log: logger,
            onProgress: (progress) => said.push(progress),
            farms: { pollIntervalMs: 20, maxPollIntervalMs: 70, unreachableTimeoutMs: 60_000, sleep },
          },
        ),
      );
      expect(result.summary).toBe('1 shot rendered on Flamenco');
      const farmJobId = result.shots[0]?.farmJobId ?? '';
      const retries = lines.filter((line) => line.msg === 'farm unreachable; retrying');
      expect(retries.map(({ level, what, waitMs }) => ({ level, what, waitMs }))).toEqual(
        [20, 40, 70, 70].map((waitMs) => ({ level: 40, what: `the status of ${labels[0] ?? ''}`, waitMs })),
      );
      for (const retry of retries) {
        expect(retry['err']).toMatchObject({
          type: 'FarmUnavailableError',
          message: expect.stringMatching(
            new RegExp(`^Flamenco at ${escaped(world.flamenco.url)} is unavailable \\(.+\\): HTTP 503`),
          ) as unknown,
        });
      }
      const unreachable = said.filter((progress) => progress.message.includes('is unreachable'));
      expect(unreachable).toEqual(
        retries.map(() => ({
          percent: 0,
          message: `Flamenco at ${world.flamenco.url} is unreachable (the status of ${labels[0] ?? ''}); retrying`,
          links: [
            { label: `Flamenco: ${labels[0] ?? ''}`, href: `${world.flamenco.url}/app/jobs/${farmJobId}` },
          ],
        })),
      );
      // The check, the submit, the first round, its four retries, the second round.
      expect(cancelReads).toBe(8);
      expect(waits).toEqual([20]);
    } finally {
      world.flamenco.control.clearFaults();
    }
  });
});

describe('a render cancelled while it waits between polls', () => {
  it('stops waiting at once and cancels its farm job, logging it', async () => {
    const jobId = `render-${randomUUID()}`;
    const request = cancelRequestOf(jobId);
    const controller = new AbortController();
    let asleep: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (asleep = resolve));
    // A wait that only the signal ends.
    const sleep = (_ms: number, signal: AbortSignal): Promise<void> =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted', { cause: signal.reason })), {
          once: true,
        });
        asleep();
      });
    const { logger, lines } = recordingLogger();
    const error = await withFarmsStopped(world, async () => {
      const run = failureOf(
        runRenderHandler(
          world,
          'flamenco',
          world.jobData('render-flamenco', world.lightingTasks.slice(0, 1)),
          jobId,
          memoryJobStore(),
          { log: logger, signal: controller.signal, farms: { sleep } },
        ),
      );
      await waiting;
      controller.abort(JSON.stringify(request));
      return run;
    });
    expect(error).toBeInstanceOf(JobCancelled);
    expect((error as JobCancelled).outcome).toEqual({
      reason: 'Cancelled by marc.dubois@studio.example',
      by: request.by,
      at: request.at,
    });
    const [submission] = submissionsOf(jobId);
    const farmJobId = submission?.jobId ?? '';
    expect(
      world.flamenco.control.requests({ method: 'POST', path: `/api/v3/jobs/${farmJobId}/setstatus` }),
    ).toHaveLength(1);
    expect(
      lines
        .filter((line) => line.msg === 'farm job cancelled')
        .map(({ level, ...fields }) => ({
          level,
          farmJobId: fields['farmJobId'],
        })),
    ).toEqual([{ level: 30, farmJobId }]);
  });

  it('a wait that fails otherwise fails the job with its error', async () => {
    const error = await failureOf(
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', world.lightingTasks.slice(0, 1)),
        `render-${randomUUID()}`,
        memoryJobStore(),
        { farms: { sleep: () => Promise.reject(new Error('the timer broke')) } },
      ),
    );
    expect(error).not.toBeInstanceOf(JobCancelled);
    expect((error as Error).message).toBe('the timer broke');
  });
});

describe('describeProgress', () => {
  const shot = (state: 'queued' | 'active' | 'completed' | 'failed' | 'cancelled', percent: number) => ({
    status: { state, percent, message: '' },
  });

  it('counts each state it has, and the mean of the percentages, a shot without status at 0', () => {
    expect(
      describeProgress([shot('active', 50), shot('completed', 100), shot('queued', 0), {}], 'Flamenco'),
    ).toEqual({
      percent: 37,
      message: '1 of 4 shots rendering, 1 done, 1 queued on Flamenco, 37%',
    });
    expect(describeProgress([shot('failed', 20), shot('cancelled', 0)], 'Afanasy')).toEqual({
      percent: 10,
      message: '0 of 2 shots rendering, 1 failed, 1 cancelled on Afanasy, 10%',
    });
  });

  it('is 100% only when every shot is done, 99% at most before', () => {
    expect(describeProgress([shot('completed', 100)], 'Flamenco')).toEqual({
      percent: 100,
      message: '0 of 1 shot rendering, 1 done on Flamenco, 100%',
    });
    expect(describeProgress([shot('completed', 100), shot('active', 100)], 'Flamenco')).toEqual({
      percent: 99,
      message: '1 of 2 shots rendering, 1 done on Flamenco, 99%',
    });
    expect(describeProgress([shot('active', 0)], 'Flamenco')).toEqual({
      percent: 0,
      message: '1 of 1 shot rendering on Flamenco, 0%',
    });
  });
});

describe('a render cancelled while it waits for its hold', () => {
  it('stops waiting for a hold another run keeps, at the cancel', async () => {
    const jobId = `render-${randomUUID()}`;
    const request = cancelRequestOf(jobId);
    const controller = new AbortController();
    let held: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (held = resolve));
    // A hold that only the signal ends: another run of the job keeps it.
    const store = memoryJobStore(new Map(), {
      exclusive: (_name, _step, options) =>
        new Promise((_resolve, reject) => {
          const signal = options?.signal;
          signal?.addEventListener('abort', () => reject(new Error('aborted', { cause: signal.reason })), {
            once: true,
          });
          held();
        }),
    });
    const run = failureOf(
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', world.lightingTasks.slice(0, 1)),
        jobId,
        store,
        { signal: controller.signal },
      ),
    );
    await holding;
    controller.abort(JSON.stringify(request));
    const error = await run;
    expect(error).toBeInstanceOf(JobCancelled);
    expect((error as JobCancelled).outcome).toMatchObject({ by: request.by, at: request.at });
    expect(submissionsOf(jobId)).toEqual([]);
  });
});

describe('a render cancelled while the farm holds its answer', () => {
  it.each([
    { call: 'the dry run', held: { method: 'POST', path: '/api/v3/jobs/check' } },
    { call: 'the submission', held: { method: 'POST', path: '/api/v3/jobs' } },
    { call: 'a status poll', held: { method: 'GET', path: /^\/api\/v3\/jobs\/[0-9a-f-]{36}$/ } },
  ])('stops waiting for $call at once and ends cancelled', async ({ held }) => {
    const jobId = `render-${randomUUID()}`;
    const request = cancelRequestOf(jobId);
    const controller = new AbortController();
    const before = world.flamenco.control.requests(held).length;
    // A farm that would wait ten minutes for an answer: only the signal ends the call.
    const flamenco = new FlamencoFarm({ url: world.flamenco.url, timeoutMs: 600_000, retry: { retries: 0 } });
    world.flamenco.control.slowAnswers(600_000, held);
    try {
      const run = failureOf(
        runRenderHandler(
          world,
          'flamenco',
          world.jobData('render-flamenco', world.lightingTasks.slice(0, 1)),
          jobId,
          memoryJobStore(),
          { signal: controller.signal, farms: { flamenco } },
        ),
      );
      await world.until(() => world.flamenco.control.requests(held).length > before, 'the held call');
      // The held call stays held; the cancel's own calls are answered.
      world.flamenco.control.clearFaults();
      controller.abort(JSON.stringify(request));
      const error = await run;
      expect(error).toBeInstanceOf(JobCancelled);
      expect((error as JobCancelled).outcome).toMatchObject({ by: request.by, at: request.at });
    } finally {
      world.flamenco.control.clearFaults();
    }
  });
});
