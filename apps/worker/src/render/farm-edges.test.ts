import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { JobCancelled, cancelReason } from '@kitsu-actions/shared';
import { recordingLogger } from '@kitsu-actions/testing';
import { farmJobFields } from '../farms/index.ts';
import { memoryJobStore } from '../../test/memory-store.ts';
import {
  failureOf,
  flamencoSubmissions,
  runRenderHandler,
  startRenderWorldAndWorkers,
  type RenderWorld,
  withFarmsStopped,
} from '../../test/render-kit.ts';

// How a render ends when the farm refuses, loses a job, stays unreachable, or will not cancel one, and
// when a cancel arrives while a submission is on its way or before Kitsu was read.

let world: RenderWorld;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ world, close } = await startRenderWorldAndWorkers(inject('redisUrl'), 'farm-edges-test'));
});

afterAll(() => close());

afterEach(() => {
  world.flamenco.control.clearFaults();
  world.flamenco.control.slowAnswers(0);
});

const submissionsOf = (jobId: string) => flamencoSubmissions(world, jobId);

const oneShot = () => world.lightingTasks.slice(0, 1);
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A Flamenco job submitted by someone else (or an earlier run) with `metadata`; its id. */
async function submitFarmJob(metadata: Record<string, string>): Promise<string> {
  const res = await fetch(`${world.flamenco.url}/api/v3/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'SPF SQ010 SH010 Lighting',
      type: 'simple-blender-render',
      priority: 50,
      submitter_platform: 'linux',
      settings: {
        blendfile: '/prod/SPF/SQ010/SH010/lighting.blend',
        frames: '1001-1048',
        chunk_size: 24,
        render_output_path: '/render/SPF/E01/SQ010/SH010/Lighting/######',
      },
      metadata,
    }),
  });
  if (res.status !== 200) throw new Error(`the fake Manager refused the job: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

describe('render.flamenco at the edges', () => {
  it('a job the Manager refuses fails at once, on its first attempt, with nothing submitted', async () => {
    world.flamenco.control.failNext(1, 422, { path: '/api/v3/jobs/check' });
    const jobId = await world.enqueue('render-flamenco', oneShot());
    const view = await world.finished(jobId);
    expect(view.state).toBe('failed');
    expect(view.error?.message).toMatch(/^Flamenco at http:\/\/127\.0\.0\.1:\d+ refused /);
    expect(view.attempts).toBe(1);
    expect(view.maxAttempts).toBeGreaterThan(1);
    expect(submissionsOf(jobId)).toHaveLength(0);
  });

  it('a farm job gone while tracked fails its shot, saying so, without a retry', async () => {
    const jobId = await world.enqueue('render-flamenco', oneShot());
    await world.until(() => submissionsOf(jobId).length === 1, 'a submission');
    world.flamenco.state.jobs.delete(submissionsOf(jobId)[0]?.jobId ?? '');
    const view = await world.finished(jobId);
    expect(view.state).toBe('failed');
    expect(view.error?.message).toMatch(
      /^1 of 1 shots failed on Flamenco at http:\/\/127\.0\.0\.1:\d+: E01 \/ SQ010 \/ SH010: the farm job is gone/,
    );
    expect(view.attempts).toBe(1);
  });

  it('a status query the Manager refuses fails the job with its answer, not as a farm job gone', async () => {
    world.stopFarms();
    try {
      const jobId = await world.enqueue('render-flamenco', oneShot());
      await world.until(() => submissionsOf(jobId).length === 1, 'a submission');
      const farmJobId = submissionsOf(jobId)[0]?.jobId ?? '';
      world.flamenco.control.failNext(1, 403, { path: new RegExp(`/api/v3/jobs/${farmJobId}$`) });
      const view = await world.finished(jobId);
      expect(view.state).toBe('failed');
      expect(view.error?.message).toMatch(
        new RegExp(`^Flamenco at http://127\\.0\\.0\\.1:\\d+ refused the status query of job ${farmJobId}`),
      );
      expect(view.error?.message).not.toContain('gone');
      expect(view.attempts).toBe(1);
    } finally {
      world.runFarms();
    }
  });

  it('a cancel while a submission is under way cancels the farm job it created', async () => {
    // The Manager stores the job at once but holds its answer: the worker is cancelled before it learns
    // the farm job's id.
    world.flamenco.control.slowAnswers(5_000, { method: 'POST', path: '/api/v3/jobs' });
    const jobId = await world.enqueue('render-flamenco', oneShot());
    await world.until(() => submissionsOf(jobId).length === 1, 'a submission');
    await world.queues.cancel(jobId, { by: 'marc.dubois@studio.example' }, 60);
    const view = await world.finished(jobId);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toBe('Cancelled by marc.dubois@studio.example');
    const farmJobId = submissionsOf(jobId)[0]?.jobId ?? '';
    await world.until(
      () => world.flamenco.state.jobs.get(farmJobId)?.status === 'canceled',
      'the farm job to be canceled',
    );
    expect(
      world.flamenco.control.requests({ method: 'POST', path: /\/setstatus$/ }).map((r) => r.path),
    ).toContain(`/api/v3/jobs/${farmJobId}/setstatus`);
  });

  it('the farm jobs the Manager will not cancel are each named in the reason; the job still ends cancelled', async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 2));
    await world.until(() => submissionsOf(jobId).length === 2, 'two submissions');
    world.flamenco.control.failNext(10, 422, { path: /\/setstatus$/ });
    await world.queues.cancel(jobId, { by: 'marc.dubois@studio.example' }, 60);
    const view = await world.finished(jobId);
    expect(view.state).toBe('cancelled');
    // One problem per farm job, each named by its own shot (in the order the job's records come).
    const [head, problems = ''] = (view.error?.message ?? '').split('; not cancelled on Flamenco: ');
    expect(head).toBe('Cancelled by marc.dubois@studio.example');
    const named = problems.split('; ').map((problem) => problem.split(': ')[0]);
    expect(named.sort()).toEqual(['E01 / SQ010 / SH010', 'E01 / SQ010 / SH020']);
    // Each problem names the shot of the farm job it is about, not another shot of the selection.
    const nameOfFarmJob = new Map(
      submissionsOf(jobId).map((submission) => [submission.jobId, String(submission.body['name'])]),
    );
    for (const problem of problems.split('; ')) {
      const [, shot = '', farmJobId = ''] =
        /^E01 \/ SQ010 \/ (SH0[12]0): Flamenco at http:\/\/127\.0\.0\.1:\d+ refused the cancel of job ([0-9a-f-]{36})/.exec(
          problem,
        ) ?? [];
      expect(nameOfFarmJob.get(farmJobId), problem).toBe(`SPF SQ010 ${shot} Lighting`);
    }
    for (const submission of submissionsOf(jobId)) {
      expect(world.flamenco.state.jobs.get(submission.jobId)?.status).not.toBe('canceled');
    }
  });

  it('a store that cannot record the submission key stops the job before anything is submitted', async () => {
    // Run by the handler directly, with a store whose writes fail (Redis refusing them).
    const before = world.flamenco.state.submissions.length;
    const run = runRenderHandler(
      world,
      'flamenco',
      world.jobData('render-flamenco', oneShot()),
      `render-${randomUUID()}`,
      memoryJobStore(new Map(), {
        write: () => Promise.reject(new Error('OOM command not allowed when used memory > maxmemory')),
      }),
    );
    await expect(run).rejects.toThrow(/OOM command not allowed/);
    expect(world.flamenco.state.submissions.length).toBe(before);
  });
});

describe('render.flamenco with a Manager that stays unreachable', () => {
  const unreachable = () => world.flamenco.control.failNext(1_000, 503, { path: '/api/v3/jobs/check' });

  it('gives up on the first failure when the allowed time is 0 s, without a retry', async () => {
    unreachable();
    const { logger, lines } = recordingLogger();
    const error = await failureOf(
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', oneShot()),
        `render-${randomUUID()}`,
        memoryJobStore(),
        { log: logger, farms: { unreachableTimeoutMs: 0 } },
      ),
    );
    expect(error).toBeInstanceOf(UnrecoverableError);
    const farm = `Flamenco at ${escaped(world.flamenco.url)}`;
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${farm} stayed unreachable for 0 s \\(checking E01 / SQ010 / SH010\\): ${farm} is unavailable \\(.+\\): HTTP 503`,
      ),
    );
    expect(lines.filter((line) => line.msg === 'farm unreachable; retrying')).toEqual([]);
  });

  it('retries until the allowed time has passed, then says how long it waited and for what', async () => {
    unreachable();
    const { logger, lines } = recordingLogger();
    const error = await failureOf(
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', oneShot()),
        `render-${randomUUID()}`,
        memoryJobStore(),
        { log: logger, farms: { unreachableTimeoutMs: 1_000 } },
      ),
    );
    expect(error).toBeInstanceOf(UnrecoverableError);
    // At least the allowed second; how much more depends on the machine's pace.
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Flamenco at ${escaped(world.flamenco.url)} stayed unreachable for [1-3] s \\(checking E01 / SQ010 / SH010\\): `,
      ),
    );
    expect(lines.filter((line) => line.msg === 'farm unreachable; retrying').length).toBeGreaterThan(1);
  });

  it('a Manager back within the allowed time starts the count afresh when it goes away again', async () => {
    const { logger, lines } = recordingLogger();
    // Each time away is shorter than the allowed 300 ms; together with the time between, they are longer.
    world.flamenco.control.failNext(2, 503, { path: '/api/v3/jobs/check' });
    const sleep = async (): Promise<void> => {
      // Time passing while the farm answers, the thing under test (not a synchronisation).
      await new Promise((resolve) => setTimeout(resolve, 400));
      world.flamenco.control.failNext(2, 503, { method: 'GET', path: /^\/api\/v3\/jobs\/[^/]+$/ });
      world.flamenco.control.advance(1_000_000);
    };
    const result = await withFarmsStopped(world, () =>
      runRenderHandler(
        world,
        'flamenco',
        world.jobData('render-flamenco', oneShot()),
        `render-${randomUUID()}`,
        memoryJobStore(),
        { log: logger, farms: { unreachableTimeoutMs: 300, sleep } },
      ),
    );
    expect(result.summary).toBe('1 shot rendered on Flamenco');
    expect(
      lines.filter((line) => line.msg === 'farm unreachable; retrying').map((line) => line['what']),
    ).toEqual(['checking E01 / SQ010 / SH010', 'the status of E01 / SQ010 / SH010']);
  });
});

describe('render.flamenco cancelled before Kitsu was read', () => {
  it('cancels every farm job its records name, labels each by its task, and names what it could not cancel', async () => {
    const jobId = `render-${randomUUID()}`;
    const [refused = '', found = ''] = world.lightingTasks;
    const [gone, unreadable, stuck] = [randomUUID(), randomUUID(), randomUUID()];
    const request = {
      jobId,
      by: 'marc.dubois@studio.example',
      at: new Date().toISOString(),
      reason: cancelReason('marc.dubois@studio.example'),
    };
    const { logger, lines } = recordingLogger();
    const refOf = (farmJobId: string) => ({
      farm: 'flamenco',
      farmJobId,
      url: `${world.flamenco.url}/app/jobs/${farmJobId}`,
    });
    const { failure, farmJobs } = await withFarmsStopped(world, async () => {
      // Two jobs recorded with their refs that the Manager will not cancel; one recorded by its key only,
      // found on the farm; a key the farm never took; a record this version cannot read.
      const farmJobs = {
        refused: await submitFarmJob({}),
        found: await submitFarmJob({ [farmJobFields.submissionKey]: `${jobId}/${found}` }),
        stuck: await submitFarmJob({}),
      };
      for (const farmJobId of [farmJobs.refused, farmJobs.stuck]) {
        world.flamenco.control.failNext(10, 422, { path: `/api/v3/jobs/${farmJobId}/setstatus` });
      }
      const records = new Map([
        [`shot:${refused}`, JSON.stringify({ key: `${jobId}/${refused}`, ref: refOf(farmJobs.refused) })],
        [`shot:${found}`, JSON.stringify({ key: `${jobId}/${found}` })],
        [`shot:${gone}`, JSON.stringify({ key: `${jobId}/${gone}` })],
        [`shot:${unreadable}`, JSON.stringify({ submitted: true })],
        [`shot:${stuck}`, JSON.stringify({ key: `${jobId}/${stuck}`, ref: refOf(farmJobs.stuck) })],
        ['commented:submitted', new Date().toISOString()],
      ]);
      const controller = new AbortController();
      controller.abort(JSON.stringify(request));
      const before = world.flamenco.control.requests().length;
      const said: string[] = [];
      const failure = await failureOf(
        runRenderHandler(
          world,
          'flamenco',
          world.jobData('render-flamenco', [refused, found]),
          jobId,
          memoryJobStore(records),
          { log: logger, signal: controller.signal, onProgress: (progress) => said.push(progress.message) },
        ),
      );
      // No shot planned: the cancel stopped the run at its read of Kitsu.
      expect(said).toEqual(['Reading the shots from Kitsu', 'Cancelling the jobs on Flamenco']);
      const asked = world.flamenco.control.requests().slice(before);
      expect(
        asked.filter((entry) => entry.method === 'POST').map(({ path, body }) => ({ path, body })),
      ).toEqual(
        [farmJobs.refused, farmJobs.found, farmJobs.stuck].map((farmJobId) => ({
          path: `/api/v3/jobs/${farmJobId}/setstatus`,
          body: { status: 'cancel-requested', reason: 'Cancelled by marc.dubois@studio.example' },
        })),
      );
      expect(world.flamenco.state.jobs.get(farmJobs.found)?.status).toBe('cancel-requested');
      return { failure, farmJobs };
    });
    expect(failure).toBeInstanceOf(JobCancelled);
    expect((failure as JobCancelled).outcome).toMatchObject({ by: request.by, at: request.at });
    const refusal = `Flamenco at ${escaped(world.flamenco.url)} refused [^;]+`;
    expect((failure as JobCancelled).outcome.reason).toMatch(
      new RegExp(
        `^Cancelled by marc\\.dubois@studio\\.example; not cancelled on Flamenco: task ${refused}: ${refusal}; task ${stuck}: ${refusal}$`,
      ),
    );
    expect(
      lines
        .filter((line) => line.msg.startsWith('farm job '))
        .map(({ level, msg, taskId, farmJobId }) => ({ level, msg, taskId, farmJobId })),
    ).toEqual([
      { level: 40, msg: 'farm job not cancelled', taskId: refused, farmJobId: undefined },
      { level: 30, msg: 'farm job cancelled', taskId: undefined, farmJobId: farmJobs.found },
      { level: 40, msg: 'farm job not cancelled', taskId: stuck, farmJobId: undefined },
    ]);
    expect(lines.find((line) => line.msg === 'farm job not cancelled')?.['err']).toMatchObject({
      type: 'FarmRejectedError',
    });
  });
});
