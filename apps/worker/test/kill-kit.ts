import type { FarmKind } from '@kitsu-actions/shared';
import { spawnService, type ServiceProcess } from '@kitsu-actions/testing';
import { farmJobFields } from '../src/farms/index.ts';
import { renderCatalogue, type RenderWorld } from './render-kit.ts';

/** Where the worker process is killed: before any submit, between the k-th submit and its record, while tracking. */
export type KillPoint =
  { at: 'before-submit' } | { at: 'after-submit'; shot: 1 | 2 | 3 } | { at: 'tracking' };

/** Submissions the fake farm itself recorded for one of our jobs (its own record, not ours). */
export function farmSubmissions(world: RenderWorld, farm: FarmKind, jobId: string): string[] {
  if (farm === 'flamenco') {
    return world.flamenco.state.submissions
      .map((submission) => submission.body['metadata'] as Record<string, string>)
      .filter((metadata) => metadata[farmJobFields.bullJobId] === jobId)
      .map((metadata) => metadata['kitsu_task_id'] ?? '');
  }
  return world.afanasy.state.submissions
    .map((submission) => JSON.parse(String(submission.job['custom_data'])) as Record<string, string>)
    .filter((custom) => custom[farmJobFields.bullJobId] === jobId)
    .map((custom) => custom['kitsu_task_id'] ?? '');
}

function startWorker(world: RenderWorld, actionsFile: string): ServiceProcess {
  return spawnService('apps/worker/src/main.ts', {
    ...world.env,
    ACTIONS_FILE: actionsFile,
    LOG_LEVEL: 'info',
  });
}

/** Holds the farm's answer to the submission of one shot (it is stored there, the worker never hears). */
function holdSubmission(world: RenderWorld, farm: FarmKind, taskId: string): void {
  const held = 60_000;
  if (farm === 'flamenco') {
    world.flamenco.control.slowAnswers(held, {
      method: 'POST',
      path: '/api/v3/jobs',
      body: (body) => JSON.stringify(body).includes(taskId),
    });
  } else {
    world.afanasy.control.slow(held, (message) => {
      const text = JSON.stringify(message);
      return text.includes('"job"') && text.includes(taskId);
    });
  }
}

/**
 * Runs `jobs` render jobs of 3 shots at once, SIGKILLs the worker process at `point`, starts a new one
 * and lets everything finish. Returns what the farm recorded per job and the second worker's output.
 */
export async function killAndRestart(
  world: RenderWorld,
  farm: FarmKind,
  point: KillPoint,
  jobs = 2,
): Promise<{ jobIds: string[]; states: string[]; submissions: string[][]; output: string }> {
  const actionId = farm === 'flamenco' ? 'render-flamenco' : 'render-cgru';
  const file = renderCatalogue.file;
  const tasks = world.lightingTasks;
  if (point.at === 'before-submit') world.zou.control.slow(60_000, { path: /^\/data\/tasks\// });
  if (point.at === 'after-submit') holdSubmission(world, farm, tasks[point.shot - 1] ?? '');
  const first = startWorker(world, file);
  const jobIds: string[] = [];
  try {
    for (let index = 0; index < jobs; index += 1) jobIds.push(await world.enqueue(actionId, tasks));
    if (point.at !== 'tracking') world.runFarms();
    switch (point.at) {
      case 'before-submit':
        await world.until(
          async () =>
            (await Promise.all(jobIds.map((id) => world.view(id)))).every((v) => v?.state === 'active'),
          'the jobs to start',
          30_000,
        );
        break;
      case 'after-submit':
        await world.until(
          () => jobIds.every((id) => farmSubmissions(world, farm, id).length === point.shot),
          `submission ${point.shot} of each job to reach the farm`,
          30_000,
        );
        break;
      case 'tracking':
        // The farm's clock stands still: the jobs stay queued there while the worker watches them.
        await world.until(
          async () =>
            (await Promise.all(jobIds.map((id) => world.view(id)))).every((v) =>
              /of 3 shots rendering/.test(v?.progress.message ?? ''),
            ),
          'the jobs to be tracked',
          30_000,
        );
        break;
    }
  } finally {
    first.child.kill('SIGKILL');
    await first.exited;
  }
  const before = jobIds.map((id) => farmSubmissions(world, farm, id).length);
  if (point.at === 'before-submit' && before.some((count) => count > 0)) {
    throw new Error(`killed "before submit" but the farm already had ${before.join(', ')} submissions`);
  }
  world.zou.control.clearFaults();
  world.flamenco.control.clearFaults();
  world.afanasy.control.clearFaults();
  world.runFarms();
  const second = startWorker(world, file);
  try {
    const views = await Promise.all(jobIds.map((id) => world.finished(id, 45_000)));
    return {
      jobIds,
      states: views.map((view) => view.state),
      submissions: jobIds.map((id) => farmSubmissions(world, farm, id)),
      output: second.output(),
    };
  } finally {
    await second.stop();
  }
}

/** Every point a worker is killed at, for three-shot jobs: before, between each submit and its record, while tracking. */
export const killPoints: [string, KillPoint][] = [
  ['before any submit', { at: 'before-submit' }],
  ['between the 1st submit and its record', { at: 'after-submit', shot: 1 }],
  ['between the 2nd submit and its record', { at: 'after-submit', shot: 2 }],
  ['between the 3rd submit and its record', { at: 'after-submit', shot: 3 }],
  ['while tracking', { at: 'tracking' }],
];
