import { afterEach, describe, expect, inject, it } from 'vitest';
import { spawnService } from '@kitsu-actions/testing';
import { farmSubmissions, killAndRestart, killPoints } from '../../test/kill-kit.ts';
import { renderCatalogue, startRenderWorld, type RenderWorld } from '../../test/render-kit.ts';

// Five kill points, two jobs of three shots each per kill: ten runs on Flamenco, each shot checked
// against the fake farm's own record of what it received.

let world: RenderWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('render.flamenco: a worker killed and restarted never submits a shot twice', () => {
  it.each(killPoints)(
    'killed %s',
    async (_name, point) => {
      world = await startRenderWorld(inject('redisUrl'), { tick: false });
      const outcome = await killAndRestart(world, 'flamenco', point);
      expect(outcome.states).toEqual(['completed', 'completed']);
      for (const submitted of outcome.submissions) {
        // Exactly one farm job per shot, whatever the farm received before the kill.
        expect([...submitted].sort()).toEqual([...world.lightingTasks].sort());
      }
      if (point.at === 'after-submit') expect(outcome.output).toContain('farm job found again');
    },
    90_000,
  );
});

describe('render.flamenco: a worker stopped with SIGTERM', () => {
  it('hands its tracking jobs back to the queue at once; the next worker finishes them', async () => {
    world = await startRenderWorld(inject('redisUrl'), { tick: false });
    const current = world;
    const env = { ...current.env, ACTIONS_FILE: renderCatalogue.file, LOG_LEVEL: 'info' };
    const first = spawnService('apps/worker/src/main.ts', env);
    const jobId = await current.enqueue('render-flamenco', current.lightingTasks);
    await current.until(
      async () => /of 3 shots rendering/.test((await current.view(jobId))?.progress.message ?? ''),
      'the job to be tracked',
    );
    const stoppedAt = Date.now();
    expect(await first.stop('SIGTERM'), first.output().slice(-3000)).toBe(0);
    // Well within SHUTDOWN_TIMEOUT_MS (30 s): the stop did not wait for the renders.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(first.output()).toContain('job handed back to the queue');
    const waiting = await current.view(jobId);
    expect(waiting?.state).toBe('queued');
    expect(waiting?.attempts).toBe(0);
    current.runFarms();
    const second = spawnService('apps/worker/src/main.ts', env);
    try {
      expect((await current.finished(jobId, 30_000)).state).toBe('completed');
    } finally {
      await second.stop();
    }
    expect([...farmSubmissions(current, 'flamenco', jobId)].sort()).toEqual(
      [...current.lightingTasks].sort(),
    );
  }, 60_000);
});
