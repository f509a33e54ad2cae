import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// Relative until packages/testing's entry exports the farm fakes.
import { startFakeFlamenco } from '@kitsu-actions/testing';
import type { FakeFlamenco, FakeFlamencoOptions } from '@kitsu-actions/testing';
import { FarmJobGoneError, FarmRejectedError, FarmUnavailableError } from './farm.ts';
import { FlamencoFarm } from './flamenco.ts';
import type { FlamencoFarmOptions } from './flamenco.ts';
import type { FlamencoSubmittedJob } from './flamenco-wire.ts';

const fastRetry = { retries: 3, baseDelayMs: 5, maxDelayMs: 20 };

function renderJob(overrides: Partial<FlamencoSubmittedJob> = {}): FlamencoSubmittedJob {
  return {
    name: 'SPF_SH010 lighting',
    type: 'simple-blender-render',
    priority: 50,
    submitter_platform: 'linux',
    settings: {
      blendfile: '/projects/spf/sh010/lighting.blend',
      frames: '1001-1048',
      chunk_size: 10,
      render_output_root: '/render',
      add_path_components: 0,
      render_output_path: '/render/spf/sh010/######',
      fps: 25,
      format: 'PNG',
      image_file_extension: '.png',
      has_previews: false,
    },
    metadata: { kitsu_task: 'task-1', kitsu_project: 'project-1' },
    ...overrides,
  };
}

describe('Flamenco adapter', () => {
  let fake: FakeFlamenco;
  let farm: FlamencoFarm;

  const start = async (options: FakeFlamencoOptions = {}, adapter: Partial<FlamencoFarmOptions> = {}) => {
    fake = await startFakeFlamenco({ startDelayMs: 100, taskMs: 1000, transitionMs: 50, ...options });
    farm = new FlamencoFarm({ url: fake.url, timeoutMs: 2000, retry: fastRetry, ...adapter });
  };

  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    await fake.close();
  });

  const posts = (path: string) => fake.control.requests({ method: 'POST', path }).length;

  it('checks, submits with the key in metadata, tracks to completion with the job page link', async () => {
    const ref = await farm.submit(renderJob(), 'job-42:shot-sh010');
    const [submission] = fake.state.submissions;
    expect(fake.state.submissions).toHaveLength(1);
    expect(ref).toEqual({
      farm: 'flamenco',
      farmJobId: submission?.jobId,
      url: `${fake.url}/app/jobs/${submission?.jobId ?? ''}`,
    });
    expect(submission?.body['metadata']).toEqual({
      kitsu_task: 'task-1',
      kitsu_project: 'project-1',
      kitsu_actions_submission_key: 'job-42:shot-sh010',
    });
    expect(fake.state.requests.map((r) => `${r.method} ${r.path} ${String(r.status)}`)).toEqual([
      'POST /api/v3/jobs/check 204',
      'POST /api/v3/jobs 200',
    ]);

    expect(await farm.status(ref)).toMatchObject({ state: 'queued', percent: 0, url: ref.url });
    fake.control.advance(100 + 2000);
    expect(await farm.status(ref)).toMatchObject({
      state: 'active',
      percent: 40,
      message: 'Rendering on Flamenco (2/5 steps)',
    });
    fake.control.advance(10_000);
    expect(await farm.status(ref)).toMatchObject({ state: 'completed', percent: 100 });
  });

  it('counts tasks for the percentage on Managers older than 3.8', async () => {
    await fake.close();
    await start({ version: '3.5.1' });
    const ref = await farm.submit(renderJob(), 'old-manager');
    fake.control.advance(100 + 3000);
    expect(await farm.status(ref)).toMatchObject({ state: 'active', percent: 60 });
    expect(fake.control.requests({ path: /\/tasks$/ })).toHaveLength(1);
  });

  it('surfaces the farm-side failure reason', async () => {
    const ref = await farm.submit(renderJob(), 'fails');
    fake.control.advance(1500);
    fake.control.failJob(ref.farmJobId, 'Blender crashed: CUDA out of memory on render-07');
    const status = await farm.status(ref);
    expect(status.state).toBe('failed');
    expect(status.message).toContain('Blender crashed: CUDA out of memory on render-07');
    expect(status.percent).toBe(20);
  });

  it('cancels with setstatus cancel-requested; leaves a finished job alone', async () => {
    const ref = await farm.submit(renderJob(), 'cancel-me');
    fake.control.advance(1500);
    await farm.cancel(ref, { reason: 'cancelled by Alice in Kitsu' });
    expect(fake.control.requests({ method: 'POST', path: /setstatus$/ })).toMatchObject([
      { status: 204, body: { status: 'cancel-requested', reason: 'cancelled by Alice in Kitsu' } },
    ]);
    expect(await farm.status(ref)).toMatchObject({ state: 'active', message: 'Being cancelled on Flamenco' });
    fake.control.advance(50);
    expect(await farm.status(ref)).toMatchObject({ state: 'cancelled' });
    await farm.cancel(ref);

    const done = await farm.submit(renderJob(), 'finished');
    fake.control.advance(60_000);
    await farm.cancel(done);
    expect(fake.control.requests({ method: 'POST', path: /setstatus$/ })).toHaveLength(1);
    expect(fake.state.jobs.get(done.farmJobId)?.status).toBe('completed');
  });

  it('finds a job by its submission key after a restart, without submitting again', async () => {
    await farm.submit(renderJob({ name: 'other' }), 'someone-else');
    const ref = await farm.submit(renderJob(), 'job-7:shot-sh020');
    const restarted = new FlamencoFarm({ url: fake.url, retry: fastRetry });
    expect(await restarted.findBySubmissionKey('job-7:shot-sh020')).toEqual(ref);
    expect(await restarted.findBySubmissionKey('job-7:shot-sh030')).toBeUndefined();
    expect(fake.state.submissions).toHaveLength(2);
    expect(fake.control.requests({ method: 'POST', path: '/api/v3/jobs/query' })).toHaveLength(0);
  });

  it('finds a job submitted under the field names of earlier versions, after an upgrade', async () => {
    // Sent as a version before the rename sent it: the submission key under `kitsu_actions_job`, our job id
    // under `kitsu_actions_job_id`.
    const metadata = {
      kitsu_task: 'task-1',
      kitsu_actions_job: 'job-3/task-1',
      kitsu_actions_job_id: 'job-3',
    };
    const res = await fetch(`${fake.url}/api/v3/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(renderJob({ metadata })),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    await farm.submit(renderJob(), 'job-4/task-1');

    const upgraded = new FlamencoFarm({ url: fake.url, retry: fastRetry });
    expect(await upgraded.findBySubmissionKey('job-3/task-1')).toEqual({
      farm: 'flamenco',
      farmJobId: id,
      url: `${fake.url}/app/jobs/${id}`,
    });
    // Our job id alone is not a submission key, under either name.
    expect(await upgraded.findBySubmissionKey('job-3')).toBeUndefined();
    expect(fake.state.submissions).toHaveLength(2);
    expect(fake.state.submissions[1]?.body['metadata']).not.toHaveProperty('kitsu_actions_job');
  });

  it('never submits twice when the answer is lost: looks the key up before retrying', async () => {
    await fake.close();
    // The Manager stores the job at once but never answers: the adapter gives up after 100 ms.
    await start({}, { timeoutMs: 100 });
    fake.control.slowAnswers(60_000, { method: 'POST', path: '/api/v3/jobs' });
    const ref = await farm.submit(renderJob(), 'lost-answer');
    expect(fake.state.submissions).toHaveLength(1);
    expect(ref.farmJobId).toBe(fake.state.submissions[0]?.jobId);
    expect(posts('/api/v3/jobs')).toBe(1);
  });

  it('retries a submission answered 500 (after checking it was not stored) and stores it once', async () => {
    fake.control.failNext(2, 500, { method: 'POST', path: '/api/v3/jobs' });
    const ref = await farm.submit(renderJob(), 'flaky');
    expect(fake.state.submissions).toHaveLength(1);
    expect(ref.farmJobId).toBe(fake.state.submissions[0]?.jobId);
    expect(posts('/api/v3/jobs')).toBe(3);
    expect(fake.control.requests({ method: 'GET', path: '/api/v3/jobs' })).toHaveLength(2);
  });

  it('refuses locally what the Manager would not check, sending nothing', async () => {
    const settings = { ...renderJob().settings };
    delete settings['render_output_path'];
    const noOutput = farm.submit(renderJob({ settings }), 'k');
    await expect(noOutput).rejects.toBeInstanceOf(FarmRejectedError);
    await expect(noOutput).rejects.toThrow(
      `Flamenco at ${fake.url} refused the job: settings.render_output_path: render_output_path is required`,
    );
    await expect(farm.check(renderJob({ priority: 150 }))).rejects.toThrow(/priority/);
    await expect(farm.check(renderJob({ metadata: { frame: 12 as unknown as string } }))).rejects.toThrow(
      /metadata\.frame/,
    );
    expect(fake.state.requests).toHaveLength(0);
  });

  it('turns a 4xx into FarmRejectedError with the farm reason, without retrying', async () => {
    const unknownType = farm.submit(renderJob({ type: 'nuke-render' }), 'k');
    await expect(unknownType).rejects.toMatchObject({
      name: 'FarmRejectedError',
      status: 400,
      reason: 'job type unknown',
      message: `Flamenco at ${fake.url} refused the job: job type unknown`,
    });
    expect(posts('/api/v3/jobs/check')).toBe(1);
    expect(posts('/api/v3/jobs')).toBe(0);

    await expect(farm.submit(renderJob({ type_etag: 'stale' }), 'k')).rejects.toMatchObject({ status: 412 });
    expect(posts('/api/v3/jobs/check')).toBe(2);

    fake.control.failNext(1, 422, { method: 'POST', path: '/api/v3/jobs' });
    await expect(farm.submit(renderJob(), 'k')).rejects.toMatchObject({
      name: 'FarmRejectedError',
      status: 422,
    });
    expect(posts('/api/v3/jobs')).toBe(1);
    expect(fake.state.submissions).toHaveLength(0);

    await expect(
      farm.status({ farm: 'flamenco', farmJobId: '7d5ad7b4-52a4-4b57-9f6e-0b1c2d3e4f50' }),
    ).rejects.toBeInstanceOf(FarmJobGoneError);
    expect(fake.control.requests({ path: /^\/api\/v3\/jobs\/7d5ad7b4/ })).toHaveLength(1);
  });

  it('honours Retry-After on 503', async () => {
    const ref = await farm.submit(renderJob(), 'busy');
    fake.control.busy(1, 1, { method: 'GET' });
    const started = performance.now();
    expect((await farm.status(ref)).state).toBe('queued');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.control.requests({ method: 'GET' }).map((r) => r.status)).toEqual([503, 200]);
  });

  it('gives up at once on a Retry-After longer than it will wait', async () => {
    await fake.close();
    await start({}, { retry: { ...fastRetry, maxRetryAfterMs: 5000 } });
    const ref = await farm.submit(renderJob(), 'very-busy');
    fake.control.busy(1, 120, { method: 'GET' });
    const status = farm.status(ref);
    await expect(status).rejects.toBeInstanceOf(FarmUnavailableError);
    await expect(status).rejects.toThrow(/HTTP 503: database is too busy.*Retry-After 120/);
  });

  it('retries 5xx and network errors, then fails with FarmUnavailableError naming the URL', async () => {
    const ref = await farm.submit(renderJob(), 'down');
    fake.control.failNext(2, 502, { method: 'GET' });
    expect((await farm.status(ref)).state).toBe('queued');

    await fake.control.refuseConnections();
    const down = farm.status(ref);
    await expect(down).rejects.toBeInstanceOf(FarmUnavailableError);
    await expect(down).rejects.toThrow(
      new RegExp(
        `^Flamenco at ${fake.url} is unavailable \\(the status of job ${ref.farmJobId}\\): .*ECONNREFUSED.*\\(after 4 attempts\\)$`,
      ),
    );
    const submit = farm.submit(renderJob(), 'while-down');
    await expect(submit).rejects.toMatchObject({
      name: 'FarmUnavailableError',
      farmUrl: fake.url,
      attempts: 4,
    });
    await fake.control.acceptConnections();
    expect(fake.state.submissions).toHaveLength(1);
  });

  it('times out a Manager that does not answer', async () => {
    await fake.close();
    await start({}, { timeoutMs: 100, retry: { retries: 1, baseDelayMs: 5, maxDelayMs: 5 } });
    fake.control.slow(1000);
    await expect(farm.check(renderJob())).rejects.toThrow(/no answer within 100 ms \(after 2 attempts\)/);
  });

  it('stops retrying when its signal is aborted, with the abort reason', async () => {
    await fake.control.refuseConnections();
    const slowRetry = new FlamencoFarm({ url: fake.url, retry: { retries: 10, baseDelayMs: 1000 } });
    const controller = new AbortController();
    const pending = slowRetry.status({ farm: 'flamenco', farmJobId: 'x' }, { signal: controller.signal });
    controller.abort(new Error('job cancelled'));
    await expect(pending).rejects.toThrow('job cancelled');
  });
});
