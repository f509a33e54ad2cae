import { afterEach, describe, expect, inject, it } from 'vitest';
import { spawnService } from '@kitsu-actions/testing';
import { killAndRestart, killPoints } from '../../test/kill-kit.ts';
import { renderCatalogue, startRenderWorld, type RenderWorld } from '../../test/render-kit.ts';

// Five kill points, two jobs of three shots each per kill: ten runs on Afanasy, each shot checked
// against the fake farm's own record of what it received.

let world: RenderWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('render.cgru: a worker killed and restarted never submits a shot twice', () => {
  it.each(killPoints)(
    'killed %s',
    async (_name, point) => {
      world = await startRenderWorld(inject('redisUrl'), { tick: false });
      const outcome = await killAndRestart(world, 'afanasy', point);
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

describe('worker start-up', () => {
  it('refuses to start when a render action in the catalogue has no farm configured', async () => {
    world = await startRenderWorld(inject('redisUrl'), { tick: false });
    const env: Record<string, string> = {
      ...world.env,
      ACTIONS_FILE: renderCatalogue.file,
      LOG_LEVEL: 'info',
    };
    delete env['AFANASY_HOST'];
    const worker = spawnService('apps/worker/src/main.ts', env);
    expect(await worker.exited).toBe(78);
    expect(worker.output()).toContain('Invalid action catalogue');
    expect(worker.output()).toContain('(kind render.cgru) needs AFANASY_HOST, which is not set');
  });
});
