import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Job, UnrecoverableError } from 'bullmq';
import {
  FlamencoRenderOptions,
  JobData,
  JobQueues,
  RenderResult,
  absoluteJobLinks,
  createLogger,
  createRedis,
  loadConfig,
  type FarmKind,
} from '@kitsu-actions/shared';
import { exchange } from '../farms/afanasy-wire.ts';
import { createFarms } from '../farms/index.ts';
import { jobStoreKey, redisJobStore } from '../job-store.ts';
import { startWorkers } from '../workers.ts';
import { handlers } from '../handlers/index.ts';
import { renderFlamencoHandler } from '../handlers/render-flamenco/index.ts';
import { isKindJob } from '../handlers/types.ts';
import { memoryJobStore } from '../../test/memory-store.ts';
import {
  flamencoSubmissions,
  runRenderHandler,
  startRenderWorldAndWorkers,
  type RenderWorld,
} from '../../test/render-kit.ts';

let world: RenderWorld;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ world, close } = await startRenderWorldAndWorkers(inject('redisUrl'), 'render-test'));
});

afterAll(() => close());

// A test that stops the farms' clocks has them running again for the next.
afterEach(() => world.runFarms());

const shotNames = ['SH010', 'SH020', 'SH010'];
const sequenceNames = ['SQ010', 'SQ010', 'SQ020'];
const frameCounts = [48, 72, 60];

const flamencoSubmissionsOf = (jobId: string) => flamencoSubmissions(world, jobId);

function afanasySubmissionsOf(jobId: string) {
  return world.afanasy.state.submissions.filter((submission) =>
    String(submission.job['custom_data']).includes(jobId),
  );
}

function commentsOn(taskId: string): string[] {
  return world.zou.state.comments.filter((c) => c.object_id === taskId).map((c) => c.text ?? '');
}

describe('render.flamenco', () => {
  it('submits one job per shot with its frames, fps and paths, tracks them to 100 % and completes', async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks);
    const view = await world.finished(jobId);
    expect(view.state).toBe('completed');
    const submissions = flamencoSubmissionsOf(jobId);
    expect(submissions).toHaveLength(3);
    submissions.forEach((submission, index) => {
      const body = submission.body;
      const taskId = world.lightingTasks[index] ?? '';
      expect(body['type']).toBe('simple-blender-render');
      expect(body['priority']).toBe(60);
      expect(body['name']).toBe(`SPF ${sequenceNames[index]} ${shotNames[index]} Lighting`);
      expect(body['settings']).toEqual({
        frames: `1001-${1000 + (frameCounts[index] ?? 0)}`,
        fps: 25,
        chunk_size: 40,
        blendfile: `/prod/SPF/${sequenceNames[index]}/${shotNames[index]}/lighting.blend`,
        render_output_root: '/render/SPF',
        render_output_path: `/render/SPF/E01/${sequenceNames[index]}/${shotNames[index]}/Lighting/######`,
        format: 'PNG',
      });
      expect(body['metadata']).toMatchObject({
        kitsu_task_id: taskId,
        kitsu_project_id: world.zou.seed.ids.projects.spf,
        kitsu_actions_bull_job_id: jobId,
        kitsu_actions_submission_key: `${jobId}/${taskId}`,
      });
    });
    // Each job was dry-run first.
    expect(
      world.flamenco.control.requests({ method: 'POST', path: '/api/v3/jobs/check' }).length,
    ).toBeGreaterThanOrEqual(3);
    const progress = world.progress(jobId);
    expect(progress.some((p) => /of 3 shots rendering/.test(p.message))).toBe(true);
    expect(progress.at(-1)).toMatchObject({ percent: 100, message: '3 shots rendered on Flamenco' });
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const farmLinks = view.links.filter((link) => link.label.startsWith('Flamenco: '));
    expect(farmLinks.map((link) => link.href).sort()).toEqual(
      submissions.map((s) => `${world.flamenco.url}/app/jobs/${s.jobId}`).sort(),
    );
    const result = RenderResult.parse(view.result);
    expect(result.shots.map((shot) => shot.state)).toEqual(['completed', 'completed', 'completed']);
    // Kitsu: a comment with the farm link at submission, another when done; one batched call each.
    for (const [index, taskId] of world.lightingTasks.entries()) {
      const texts = commentsOn(taskId).filter((text) => text.includes(jobId));
      expect(texts).toHaveLength(2);
      expect(texts[0]).toContain(`${world.flamenco.url}/app/jobs/${submissions[index]?.jobId ?? ''}`);
      expect(texts[1]).toMatch(/completed \(3 shots rendered on Flamenco\)/);
    }
  });

  it("a job failing on the farm fails ours with the farm's reason", async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 2));
    await world.until(() => flamencoSubmissionsOf(jobId).length >= 1, 'a submission');
    const farmJobId = flamencoSubmissionsOf(jobId)[0]?.jobId ?? '';
    world.flamenco.control.failJob(farmJobId, 'Blender crashed: out of memory on frame 1012');
    const view = await world.finished(jobId);
    expect(view.state).toBe('failed');
    expect(view.error?.message).toMatch(
      /^1 of 2 shots failed on Flamenco at http:\/\/127\.0\.0\.1:\d+: E01 \/ SQ010 \/ SH010: .*Blender crashed: out of memory on frame 1012/,
    );
    expect(flamencoSubmissionsOf(jobId)).toHaveLength(2);
  });

  it('a cancel reaches the farm: the Flamenco jobs end canceled, ours cancelled, naming who', async () => {
    // The farm's clock stands still: no farm job can finish before the cancel reaches it.
    world.stopFarms();
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks);
    await world.until(() => flamencoSubmissionsOf(jobId).length === 3, 'three submissions');
    const answer = await world.queues.cancel(jobId, { by: 'marc.dubois@studio.example' }, 60);
    expect(answer.outcome).toBe('requested');
    const view = await world.finished(jobId);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toBe('Cancelled by marc.dubois@studio.example');
    const states = () =>
      flamencoSubmissionsOf(jobId).map((s) => world.flamenco.state.jobs.get(s.jobId)?.status);
    expect(states()).toEqual(['cancel-requested', 'cancel-requested', 'cancel-requested']);
    // The Manager's own transition (transitionMs) ends them.
    world.flamenco.control.advance(100);
    expect(states()).toEqual(['canceled', 'canceled', 'canceled']);
    expect(world.flamenco.control.requests({ method: 'POST', path: /\/setstatus$/ }).length).toBeGreaterThan(
      0,
    );
    // A finished job cannot be cancelled again.
    expect((await world.queues.cancel(jobId, { by: 'someone' }, 60)).outcome).toBe('finished');
  });

  it('a Manager that stays down is retried, then fails the job with a message naming its URL', async () => {
    await world.flamenco.control.refuseConnections();
    try {
      const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 1));
      const view = await world.finished(jobId);
      expect(view.state).toBe('failed');
      expect(view.error?.message).toContain(`Flamenco at ${world.flamenco.url} stayed unreachable for 1 s`);
      expect(view.error?.message).toMatch(/ECONNREFUSED|fetch failed/);
      expect(world.progress(jobId).some((p) => /is unreachable .*retrying/.test(p.message))).toBe(true);
      expect(flamencoSubmissionsOf(jobId)).toHaveLength(0);
    } finally {
      await world.flamenco.control.acceptConnections();
    }
  });

  it('a Manager back within the allowed time: the job goes on and completes', async () => {
    world.flamenco.control.failNext(3, 502, { path: '/api/v3/jobs/check' });
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(2));
    const view = await world.finished(jobId);
    expect(view.state).toBe('completed');
    expect(flamencoSubmissionsOf(jobId)).toHaveLength(1);
  });

  it('an asset selection is refused unless the action allows assets', async () => {
    const asset = world.zou.seed.ids.tasks.modelingMei;
    const refused = await world.finished(
      await world.enqueue('render-flamenco', [asset, ...world.lightingTasks]),
    );
    expect(refused.state).toBe('failed');
    expect(refused.error?.message).toMatch(
      /^Nothing was submitted: 1 asset task selected \(Mei \(Modeling\)\), but "Render lighting on Flamenco" renders shot tasks only/,
    );
    // Allowed, but an asset has no frame range in Kitsu: said as such, still nothing submitted.
    const noFrames = await world.finished(await world.enqueue('render-any', [asset]));
    expect(noFrames.error?.message).toMatch(/no frame range in Kitsu for Mei \(Modeling\)/);
    expect(
      world.flamenco.state.submissions.filter((s) => JSON.stringify(s.body).includes(asset)),
    ).toHaveLength(0);
  });
});

describe('render.cgru', () => {
  it('submits one Afanasy job per shot with its frames and command, and completes', async () => {
    const jobId = await world.enqueue('render-cgru', world.lightingTasks);
    const view = await world.finished(jobId);
    expect(view.state).toBe('completed');
    const submissions = afanasySubmissionsOf(jobId);
    expect(submissions).toHaveLength(3);
    submissions.forEach((submission, index) => {
      const job = submission.job;
      const taskId = world.lightingTasks[index] ?? '';
      expect(job['priority']).toBe(120);
      expect(JSON.parse(String(job['custom_data']))).toMatchObject({
        kitsu_task_id: taskId,
        kitsu_actions_bull_job_id: jobId,
        kitsu_actions_submission_key: `${jobId}/${taskId}`,
      });
      expect(job['blocks']).toEqual([
        expect.objectContaining({
          name: shotNames[index],
          service: 'blender',
          flags: 1,
          frame_first: 1001,
          frame_last: 1000 + (frameCounts[index] ?? 0),
          frames_per_task: 40,
          working_directory: '/prod/SPF',
          command: `blender -b /prod/SPF/${sequenceNames[index]}/${shotNames[index]}/lighting.blend -o /render/${shotNames[index]}/#### -f @#@`,
        }),
      ]);
    });
    expect(
      view.links
        .filter((link) => link.label.startsWith('Afanasy: '))
        .map((link) => link.href)
        .sort(),
    ).toEqual(submissions.map((s) => `http://cgru.studio.example/#${s.id}-${s.serial}`).sort());
    expect(world.progress(jobId).at(-1)).toMatchObject({ percent: 100 });
  });

  it('a task in error fails the job with what Afanasy says', async () => {
    const jobId = await world.enqueue('render-cgru', world.lightingTasks.slice(0, 1));
    await world.until(() => afanasySubmissionsOf(jobId).length === 1, 'a submission');
    world.afanasy.control.failJob(afanasySubmissionsOf(jobId)[0]?.id ?? 0);
    const view = await world.finished(jobId);
    expect(view.state).toBe('failed');
    expect(view.error?.message).toMatch(
      /^1 of 1 shots failed on Afanasy at tcp:\/\/127\.0\.0\.1:\d+: E01 \/ SQ010 \/ SH010: Afanasy job "SPF SQ010 SH010 Lighting(-\d+)?" has errors: 1 task\(s\) failed/,
    );
  });

  it('cancel deletes the Afanasy jobs (cancelMode delete) or stops them (cancelMode stop)', async () => {
    // The farm's clock stands still: no farm job can finish before the cancel reaches it.
    world.stopFarms();
    const deleted = await world.enqueue('render-cgru', world.lightingTasks);
    await world.until(() => afanasySubmissionsOf(deleted).length === 3, 'three submissions');
    await world.queues.cancel(deleted, { by: 'lena.becker@studio.example' }, 60);
    const view = await world.finished(deleted);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toBe('Cancelled by lena.becker@studio.example');
    const serials = afanasySubmissionsOf(deleted).map((s) => s.serial);
    expect(serials).toHaveLength(3);
    const left = [...world.afanasy.state.jobs.values()].filter((job) => serials.includes(job.serial));
    // All three deleted: none had finished.
    expect(left).toEqual([]);

    const stopped = await world.enqueue('render-cgru-stop', world.lightingTasks.slice(1, 2));
    await world.until(() => afanasySubmissionsOf(stopped).length === 1, 'a submission');
    await world.queues.cancel(stopped, { by: 'lena.becker@studio.example' }, 60);
    expect((await world.finished(stopped)).state).toBe('cancelled');
    const job = world.afanasy.state.jobs.get(afanasySubmissionsOf(stopped)[0]?.id ?? 0);
    expect(job?.offline).toBe(true);
  });

  it('an afserver that stays down fails the job naming where it was looked for', async () => {
    await world.afanasy.control.refuseConnections();
    try {
      const jobId = await world.enqueue('render-cgru', world.lightingTasks.slice(0, 1));
      const view = await world.finished(jobId);
      expect(view.state).toBe('failed');
      expect(view.error?.message).toContain(
        `Afanasy at tcp://${world.afanasy.host}:${world.afanasy.port} stayed unreachable for 1 s`,
      );
    } finally {
      await world.afanasy.control.acceptConnections();
    }
  });
});

describe('render without Kitsu or without the farm', () => {
  it('says which setting the worker lacks, and nothing is retried', async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 1));
    const job = await Job.fromId(world.queues.queue('render'), jobId);
    if (!job || !isKindJob(job, 'render.flamenco')) throw new Error('no render.flamenco job');
    const data = JobData.parse(job.data);
    const context = {
      job,
      data,
      options: FlamencoRenderOptions.parse(data.action.options),
      log: createLogger({ level: 'silent', name: 'render-test' }),
      signal: new AbortController().signal,
      publicUrl: 'https://kitsu.studio.example',
      links: absoluteJobLinks('https://kitsu.studio.example'),
      resultPageBytes: world.config.storage.resultPageBytes,
      progress: () => Promise.resolve(),
      store: memoryJobStore(),
    };
    const farms = createFarms(world.config, context.log);
    const noKitsu = renderFlamencoHandler({ ...context, zou: undefined, farms });
    await expect(noKitsu).rejects.toThrow(UnrecoverableError);
    await expect(noKitsu).rejects.toThrow(
      /reads the shots from Kitsu, .*set KITSU_URL and KITSU_BOT_TOKEN on the worker/,
    );
    const noFarm = renderFlamencoHandler({
      ...context,
      zou: undefined,
      farms: { ...farms, flamenco: undefined },
    });
    await expect(noFarm).rejects.toThrow(/no Flamenco configured \(FLAMENCO_URL is not set\)/);
    await world.finished(jobId);

    // Through a worker without Kitsu settings: failed on its first attempt of several, not retried.
    const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
    const env = Object.fromEntries(
      Object.entries({ ...world.env, QUEUE_PREFIX: prefix }).filter(([name]) => !name.startsWith('KITSU_')),
    );
    const bare = await startWorkers({ config: loadConfig(env), handlers, logger: context.log });
    const queues = new JobQueues(world.connection, { prefix, timeoutMs: 2000, dedupWindowMs: 0 });
    try {
      const action = world.catalogue.actions.find((item) => item.id === 'render-flamenco');
      if (action === undefined) throw new Error('no render-flamenco action');
      const { id } = await queues.enqueue(action, data.request);
      let view = (await queues.find(id))?.view;
      await world.until(async () => {
        view = (await queues.find(id))?.view;
        return view?.state === 'failed';
      }, 'the job to fail');
      expect(view?.error?.message).toMatch(/reads the shots from Kitsu/);
      expect(view?.maxAttempts).toBeGreaterThan(1);
      expect(view?.attempts).toBe(1);
    } finally {
      await bare.close();
      await queues.close();
    }
  });
});

/**
 * Submits the farm job of one shot as versions before the field rename did: the submission key under
 * `kitsu_actions_job`, our job id under `kitsu_actions_job_id`. Returns its farm job id.
 */
async function submitAsEarlierVersion(farm: FarmKind, jobId: string, taskId: string): Promise<string> {
  const fields = {
    kitsu_task_id: taskId,
    kitsu_actions_job: `${jobId}/${taskId}`,
    kitsu_actions_job_id: jobId,
  };
  if (farm === 'flamenco') {
    const res = await fetch(`${world.flamenco.url}/api/v3/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'SPF SQ010 SH010 Lighting',
        type: 'simple-blender-render',
        priority: 60,
        submitter_platform: 'linux',
        settings: {
          blendfile: '/prod/SPF/SQ010/SH010/lighting.blend',
          frames: '1001-1048',
          chunk_size: 40,
          render_output_path: '/render/SPF/E01/SQ010/SH010/Lighting/######',
        },
        metadata: fields,
      }),
    });
    if (res.status !== 200) throw new Error(`the fake Manager refused the job: ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }
  const answer = await exchange(
    {
      job: {
        name: 'SPF SQ010 SH010 Lighting',
        user_name: 'kitsu-actions',
        host_name: 'render-worker-1',
        priority: 120,
        custom_data: JSON.stringify(fields),
        blocks: [
          {
            name: 'SH010',
            service: 'blender',
            flags: 1,
            frame_first: 1001,
            frame_last: 1048,
            frames_per_task: 40,
            frames_inc: 1,
            command: 'blender -b /prod/SPF/SQ010/SH010/lighting.blend -o /render/SH010/#### -f @#@',
          },
        ],
      },
    },
    { host: world.afanasy.host, port: world.afanasy.port, timeoutMs: 3000 },
  );
  return String((answer as { serial: number }).serial);
}

/** The job as a handler of `kind` takes it. */
describe('render run twice at once', () => {
  // Two runs of one job overlap when a worker loses its job lock under load and BullMQ hands the job to
  // another. The second must not submit while the first's submit is still on its way to the farm.
  it("submits each shot once when a second run starts during the first run's submit", async () => {
    const taskIds = world.lightingTasks.slice(0, 2);
    const jobId = `render-${randomUUID()}`;
    const data = world.jobData('render-flamenco', taskIds);
    const connection = createRedis(world.config.redis.url, 'consumer');
    const store = () => redisJobStore(connection, { prefix: world.prefix, jobId, keepSeconds: 600 });
    const before = world.flamenco.state.submissions.length;
    // Each submit reaches the farm's store 600 ms after it was sent.
    world.flamenco.control.slow(600, { method: 'POST', path: '/api/v3/jobs' });
    try {
      const first = runRenderHandler(world, 'flamenco', data, jobId, store());
      // The second run starts once the first has recorded the first shot's key: its submit is on its way.
      await world.until(
        async () => (await connection.hexists(jobStoreKey(world.prefix, jobId), `shot:${taskIds[0]}`)) === 1,
        'the first run recording its first key',
      );
      const second = runRenderHandler(world, 'flamenco', data, jobId, store());
      const results = await Promise.all([first, second]);
      const ours = world.flamenco.state.submissions
        .slice(before)
        .filter((submission) => JSON.stringify(submission.body).includes(`${jobId}/`));
      expect(ours).toHaveLength(2);
      expect(new Set(ours.map((submission) => submission.jobId)).size).toBe(2);
      // Both runs report the same two farm jobs.
      for (const result of results) {
        expect(result.shots.map((shot) => shot.farmJobId).sort()).toEqual(
          ours.map((submission) => submission.jobId).sort(),
        );
      }
    } finally {
      world.flamenco.control.slow(0, { method: 'POST', path: '/api/v3/jobs' });
      await connection.quit();
    }
  });
});

describe('render after an upgrade', () => {
  it.each([
    ['render-flamenco', 'flamenco'],
    ['render-cgru', 'afanasy'],
  ] as const)(
    '%s finds the farm job an earlier version submitted under the old field names, and submits none',
    async (actionId, farm) => {
      const taskId = world.lightingTasks[0] ?? '';
      const jobId = `render-${randomUUID()}`;
      const key = `${jobId}/${taskId}`;
      // Where the earlier worker died: the key recorded with our job, the farm job submitted, its ref not.
      const farmJobId = await submitAsEarlierVersion(farm, jobId, taskId);
      const records = new Map([[`shot:${taskId}`, JSON.stringify({ key })]]);
      const result = await runRenderHandler(
        world,
        farm,
        world.jobData(actionId, [taskId]),
        jobId,
        memoryJobStore(records),
      );

      expect(result.shots).toMatchObject([{ taskId, farmJobId, state: 'completed' }]);
      expect(JSON.parse(records.get(`shot:${taskId}`) ?? 'null')).toMatchObject({
        key,
        ref: { farm, farmJobId },
      });
      const carrying = (text: string) => text.includes(key);
      const submissions =
        farm === 'flamenco'
          ? world.flamenco.state.submissions.filter((s) => carrying(JSON.stringify(s.body)))
          : world.afanasy.state.submissions.filter((s) => carrying(JSON.stringify(s.job)));
      expect(submissions).toHaveLength(1);
    },
  );
});
