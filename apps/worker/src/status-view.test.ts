import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { RenderResult, createLogger, jobCapabilities } from '@kitsu-actions/shared';
import { createZouClient } from '@kitsu-actions/zou';
import { startRenderWorld, type RenderWorld } from '../test/render-kit.ts';
import { handlers } from './handlers/index.ts';
import { startWorkers, type WorkerSet } from './workers.ts';

// Issue 10, item 12: attempts and messages are right while a job runs and after it ends, read from what
// the worker records (never the job's data or result).

let world: RenderWorld;
let workers: WorkerSet;
const actionsToken = 'a-long-shared-secret-for-tests';

beforeAll(async () => {
  // The farms' clocks stand still until runFarms: a render stays tracked as long as the test needs.
  world = await startRenderWorld(inject('redisUrl'), { tick: false });
  workers = await startWorkers({
    // AUTH_MODE=token: the links the worker leaves in Kitsu must open the job (item 1).
    config: { ...world.config, auth: { ...world.config.auth, mode: 'token', actionsToken } },
    handlers,
    logger: createLogger({ level: 'silent', name: 'status-view-test' }),
    zou: createZouClient({ baseUrl: world.zou.url, auth: { token: world.zou.seed.botToken } }),
  });
});

afterAll(async () => {
  await workers.close();
  await world.close();
});

// A test that runs the farms' clocks stops them again: the next may need a render that stays tracked.
afterEach(() => world.stopFarms());

describe('the status of a render, while it runs and once it ends', () => {
  it('counts the attempt under way, and a cancelled job says it was cancelled, not "Cancelling…"', async () => {
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 2));
    await world.until(
      async () => /of 2 shots rendering/.test((await world.view(jobId))?.progress.message ?? ''),
      'the job to track its farm jobs',
    );
    const running = await world.view(jobId);
    expect(running).toMatchObject({ state: 'active', attempts: 1, maxAttempts: 3 });

    const asked = await world.queues.cancel(jobId, { by: 'marc.dubois@studio.example' }, 60);
    expect(asked.outcome).toBe('requested');
    const ended = await world.finished(jobId);
    // The handler's last progress was "Cancelling the jobs on Flamenco": the end replaces it.
    expect(world.progress(jobId).map((step) => step.message)).toContain('Cancelling the jobs on Flamenco');
    expect(ended.state).toBe('cancelled');
    expect(ended.error?.message).toBe('Cancelled by marc.dubois@studio.example');
    expect(ended.progress.message).toBe(ended.error?.message);
    expect(ended.progress.message).not.toMatch(/Cancelling|rendering/);
    expect(ended.attempts).toBe(1);
    expect(typeof ended.finishedAt).toBe('string');
    // The farm links stay: what the job did is still reachable.
    expect(ended.links.filter((link) => link.label.startsWith('Flamenco: '))).toHaveLength(2);
  });

  it('a completed render reads its result and summary from what the worker recorded', async () => {
    world.runFarms();
    const jobId = await world.enqueue('render-flamenco', world.lightingTasks.slice(0, 1));
    const ended = await world.finished(jobId);
    expect(ended).toMatchObject({ state: 'completed', attempts: 1, maxAttempts: 3 });
    const result = RenderResult.parse(ended.result);
    expect(ended.progress).toEqual({ percent: 100, message: result.summary });
    // Recorded by the worker next to BullMQ's fields, not derived from the job's returnvalue.
    const recorded = await world.connection.hget(`${world.prefix}:render:${jobId}`, 'ka:result');
    expect(RenderResult.parse(JSON.parse(recorded ?? 'null'))).toEqual(result);
  });

  it("under AUTH_MODE=token, the status link of the Kitsu comment carries the job's capability", async () => {
    world.runFarms();
    const task = world.lightingTasks[2] ?? '';
    const jobId = await world.enqueue('render-flamenco', [task]);
    expect((await world.finished(jobId)).state).toBe('completed');
    const link = `${world.config.publicUrl}/jobs/${jobId}?cap=${jobCapabilities(actionsToken).of(jobId)}`;
    const texts = world.zou.state.comments.filter((c) => c.object_id === task).map((c) => c.text ?? '');
    expect(texts.some((text) => text.includes(link))).toBe(true);
  });
});
