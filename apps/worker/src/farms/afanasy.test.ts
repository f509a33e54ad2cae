import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// Relative until packages/testing's entry exports the farm fakes.
import { startFakeAfanasy } from '@kitsu-actions/testing';
import type { FakeAfanasy } from '@kitsu-actions/testing';
import { AfanasyFarm } from './afanasy.ts';
import type { AfanasyFarmOptions, AfanasyJob } from './afanasy.ts';
import { exchange } from './afanasy-wire.ts';
import { FarmJobGoneError, FarmRejectedError, FarmUnavailableError } from './farm.ts';

const fastRetry = { retries: 3, baseDelayMs: 5, maxDelayMs: 20 };

function renderJob(overrides: Partial<AfanasyJob> = {}, block: Record<string, unknown> = {}): AfanasyJob {
  return {
    name: 'SPF_SH010 lighting',
    priority: 120,
    branch: '/spf/',
    custom_data: { kitsu_task: 'task-1', kitsu_project: 'project-1' },
    blocks: [
      {
        name: 'render',
        service: 'blender',
        parser: 'blender',
        command: 'blender -b /projects/spf/sh010.blend -o /render/sh010/#### -s @#@ -e @#@ -a',
        frame_first: 1001,
        frame_last: 1048,
        frames_per_task: 10,
        capacity: 1000,
        working_directory: '/projects/spf',
        files: '/render/sh010/@####@.png',
        ...block,
      },
    ],
    ...overrides,
  };
}

describe('Afanasy adapter', () => {
  let fake: FakeAfanasy;
  let farm: AfanasyFarm;

  const adapter = (options: Partial<AfanasyFarmOptions> = {}) =>
    new AfanasyFarm({
      host: fake.host,
      port: fake.port,
      timeoutMs: 1000,
      retry: fastRetry,
      hostName: 'worker-test',
      jobPageUrl: 'http://afanasy.example/?job={id}&serial={serial}',
      ...options,
    });

  beforeEach(async () => {
    fake = await startFakeAfanasy({ startDelayMs: 100, taskMs: 1000 });
    farm = adapter();
  });
  afterEach(async () => {
    await fake.close();
  });

  const kinds = () => fake.state.requests.map((r) => r.kind);

  it('submits in the raw framing with typed fields and the key in custom_data, tracks to completion', async () => {
    const ref = await farm.submit(renderJob(), 'job-42:shot-sh010');
    expect(ref).toEqual({
      farm: 'afanasy',
      farmJobId: '1',
      url: 'http://afanasy.example/?job=2&serial=1',
    });
    const [submission] = fake.state.submissions;
    expect(fake.state.requests[0]?.framing).toBe('raw');
    expect(submission?.job).toMatchObject({
      name: 'SPF_SH010 lighting',
      user_name: 'kitsu-actions',
      host_name: 'worker-test',
      priority: 120,
      blocks: [{ flags: 1, frame_first: 1001, frame_last: 1048, frames_per_task: 10, capacity: 1000 }],
    });
    expect(JSON.parse(String(submission?.job['custom_data']))).toEqual({
      kitsu_task: 'task-1',
      kitsu_project: 'project-1',
      kitsu_actions_submission_key: 'job-42:shot-sh010',
    });

    expect(await farm.status(ref)).toMatchObject({ state: 'queued', percent: 0, url: ref.url });
    fake.control.advance(100 + 2000);
    expect(await farm.status(ref)).toMatchObject({
      state: 'active',
      percent: 40,
      message: 'Rendering on Afanasy (2/5 tasks)',
    });
    fake.control.advance(10_000);
    expect(await farm.status(ref)).toMatchObject({ state: 'completed', percent: 100 });
  });

  it('weights block percentages by their task counts', async () => {
    const job = renderJob();
    const [render] = job.blocks;
    if (render === undefined) throw new Error('no block');
    job.blocks.push({ ...render, name: 'preview', frame_first: 1, frame_last: 1, frames_per_task: 1 });
    const ref = await farm.submit(job, 'two-blocks');
    fake.control.advance(100 + 5000);
    // Block 1 done (5 tasks at 100 %), block 2 not started (1 task at 0 %): 500 / 6.
    expect((await farm.status(ref)).percent).toBe(83);
  });

  it('reports a farm-side failure as failed with what afserver says', async () => {
    const ref = await farm.submit(renderJob(), 'fails');
    fake.control.advance(1500);
    fake.control.failJob(2);
    const status = await farm.status(ref);
    expect(status.state).toBe('failed');
    expect(status.message).toBe(
      'Afanasy job "SPF_SH010 lighting" has errors: 1 task(s) failed (1/5 tasks), state RDY RUN ERR',
    );
  });

  it('cancels by deleting (default) or stopping; leaves a finished job alone', async () => {
    const ref = await farm.submit(renderJob(), 'delete-me');
    fake.control.advance(1500);
    await farm.cancel(ref);
    expect(fake.state.jobs.size).toBe(0);
    expect(fake.state.requests.at(-1)?.message).toMatchObject({
      action: {
        type: 'jobs',
        ids: [2],
        user_name: 'kitsu-actions',
        host_name: 'worker-test',
        operation: { type: 'delete' },
      },
    });
    await expect(farm.status(ref)).rejects.toBeInstanceOf(FarmJobGoneError);
    await farm.cancel(ref);

    const stopping = adapter({ cancelMode: 'stop' });
    const stopped = await stopping.submit(renderJob(), 'stop-me');
    fake.control.advance(1500);
    await stopping.cancel(stopped);
    expect(fake.state.jobs.get(2)?.offline).toBe(true);
    const offline = await stopping.status(stopped);
    expect(offline.state).toBe('queued');
    expect(offline.message).toContain('offline');

    const done = await farm.submit(renderJob(), 'finished');
    fake.control.advance(60_000);
    const before = kinds().filter((kind) => kind === 'action').length;
    await farm.cancel(done, { mode: 'delete' });
    expect(kinds().filter((kind) => kind === 'action').length).toBe(before);
    expect(fake.state.jobs.has(3)).toBe(true);
  });

  it('tracks by serial: a reused id never makes another job look like ours', async () => {
    const first = await farm.submit(renderJob(), 'first');
    await farm.cancel(first);
    const second = await farm.submit(renderJob({ name: 'SPF_SH020 lighting' }), 'second');
    expect(fake.state.jobs.get(2)?.serial).toBe(2);
    expect(second.farmJobId).toBe('2');
    await expect(farm.status(first)).rejects.toBeInstanceOf(FarmJobGoneError);
    await farm.cancel(first);
    expect(fake.state.jobs.get(2)?.name).toBe('SPF_SH020 lighting');
  });

  it('finds a job by its submission key after a restart, without submitting again', async () => {
    // Someone else's job whose custom_data is not JSON.
    await exchange(
      {
        job: {
          ...renderJob(),
          user_name: 'tom',
          custom_data: 'shot=sh010',
          blocks: [{ ...renderJob().blocks[0], flags: 1 }],
        },
      },
      { host: fake.host, port: fake.port, timeoutMs: 1000 },
    );
    await farm.submit(renderJob(), 'someone-else');
    const ref = await farm.submit(renderJob(), 'job-7:shot-sh020');
    const restarted = adapter();
    expect(await restarted.findBySubmissionKey('job-7:shot-sh020')).toEqual(ref);
    expect(await restarted.findBySubmissionKey('job-7:shot-sh030')).toBeUndefined();
    expect(fake.state.submissions).toHaveLength(3);
  });

  it('finds a job submitted under the field names of earlier versions, after an upgrade', async () => {
    // Sent as a version before the rename sent it: the submission key under `kitsu_actions_job`, our job id
    // under `kitsu_actions_job_id`.
    const custom = { kitsu_task: 'task-1', kitsu_actions_job: 'job-3/task-1', kitsu_actions_job_id: 'job-3' };
    const answer = await exchange(
      {
        job: {
          ...renderJob(),
          user_name: 'kitsu-actions',
          host_name: 'worker-test',
          custom_data: JSON.stringify(custom),
          blocks: [{ ...renderJob().blocks[0], flags: 1 }],
        },
      },
      { host: fake.host, port: fake.port, timeoutMs: 1000 },
    );
    expect(answer).toEqual({ id: 2, serial: 1 });
    await farm.submit(renderJob(), 'job-4/task-1');

    const upgraded = adapter();
    expect(await upgraded.findBySubmissionKey('job-3/task-1')).toEqual({
      farm: 'afanasy',
      farmJobId: '1',
      url: 'http://afanasy.example/?job=2&serial=1',
    });
    // Our job id alone is not a submission key, under either name.
    expect(await upgraded.findBySubmissionKey('job-3')).toBeUndefined();
    expect(fake.state.submissions).toHaveLength(2);
    expect(JSON.parse(String(fake.state.submissions[1]?.job['custom_data']))).not.toHaveProperty(
      'kitsu_actions_job',
    );
  });

  it('never submits twice when the answer is cut: looks the key up before retrying', async () => {
    fake.control.dropNext(1);
    const ref = await farm.submit(renderJob(), 'answer-cut');
    expect(fake.state.submissions).toHaveLength(1);
    expect(ref.farmJobId).toBe(String(fake.state.submissions[0]?.serial));
    expect(kinds()).toEqual(['job', 'get']);

    fake.control.dropNext(1, { process: false });
    const again = await farm.submit(renderJob(), 'never-arrived');
    expect(fake.state.submissions).toHaveLength(2);
    expect(again.farmJobId).toBe('2');
    expect(kinds().slice(2)).toEqual(['invalid', 'get', 'job']);
  });

  it.each([
    ['frame_first as a string', {}, { frame_first: '1' }, 'blocks.0.frame_first'],
    ['frames_per_task 0', {}, { frames_per_task: 0 }, 'blocks.0.frames_per_task'],
    ['frame_first after frame_last', {}, { frame_first: 1048, frame_last: 1001 }, 'blocks.0.frame_first'],
    ['a command without frame token', {}, { command: 'blender -b x.blend -a' }, 'frame token'],
    ['capacity as a string', {}, { capacity: '1000' }, 'blocks.0.capacity'],
    ['an unknown block field', {}, { frames: '1-10' }, 'frames'],
    ['priority 251', { priority: 251 }, {}, 'priority'],
    ['no blocks', { blocks: [] }, {}, 'blocks'],
    ['custom_data with a number', { custom_data: { shot: 10 as unknown as string } }, {}, 'custom_data.shot'],
  ])('refuses locally a job with %s, sending nothing', async (_, job, block, text) => {
    const submit = farm.submit(renderJob(job, block), 'k');
    await expect(submit).rejects.toBeInstanceOf(FarmRejectedError);
    await expect(submit).rejects.toThrow(text);
    await expect(farm.check(renderJob(job, block))).rejects.toThrow(
      `Afanasy at tcp://${fake.host}:${String(fake.port)} refused the job`,
    );
    expect(fake.state.requests).toHaveLength(0);
  });

  it('passes a valid job through check without contacting afserver', async () => {
    await farm.check(renderJob());
    expect(fake.state.requests).toHaveLength(0);
  });

  it("turns afserver's error answer into FarmRejectedError, without retrying", async () => {
    fake.control.refuseNext(1, 'job name is reserved');
    const submit = farm.submit(renderJob(), 'refused');
    await expect(submit).rejects.toMatchObject({
      name: 'FarmRejectedError',
      reason: 'job name is reserved',
      message: `Afanasy at tcp://${fake.host}:${String(fake.port)} refused the job: job name is reserved`,
    });
    expect(fake.state.requests).toHaveLength(1);
    expect(fake.state.submissions).toHaveLength(0);
  });

  it('fails with FarmUnavailableError naming the server when it is down, after retrying', async () => {
    const ref = await farm.submit(renderJob(), 'down');
    await fake.control.refuseConnections();
    const status = farm.status(ref);
    await expect(status).rejects.toBeInstanceOf(FarmUnavailableError);
    await expect(status).rejects.toThrow(
      new RegExp(
        `^Afanasy at tcp://${fake.host}:${String(fake.port)} is unavailable \\(the status of job serial 1\\): .*ECONNREFUSED.*\\(after 4 attempts\\)$`,
      ),
    );
    await expect(farm.submit(renderJob(), 'while-down')).rejects.toMatchObject({ attempts: 4 });
    await fake.control.acceptConnections();
    expect(fake.state.submissions).toHaveLength(1);
    expect((await farm.status(ref)).state).toBe('queued');
  });

  it('times out an afserver that does not answer', async () => {
    const impatient = adapter({ timeoutMs: 100, retry: { retries: 1, baseDelayMs: 5, maxDelayMs: 5 } });
    fake.control.slow(1000);
    await expect(impatient.findBySubmissionKey('k')).rejects.toThrow(
      /no answer within 100 ms.*\(after 2 attempts\)/,
    );
  });

  it('stops retrying when its signal is aborted, with the abort reason', async () => {
    await fake.control.refuseConnections();
    const slowRetry = adapter({ retry: { retries: 10, baseDelayMs: 1000 } });
    const controller = new AbortController();
    const pending = slowRetry.status({ farm: 'afanasy', farmJobId: '1' }, { signal: controller.signal });
    controller.abort(new Error('job cancelled'));
    await expect(pending).rejects.toThrow('job cancelled');
  });
});
