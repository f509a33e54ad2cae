import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { memoryJobStore } from '../../test/memory-store.ts';
import {
  flamencoSubmissions,
  runRenderHandler,
  startRenderWorldAndWorkers,
  type RenderWorld,
} from '../../test/render-kit.ts';

// How a render ends when the farm refuses, loses a job, or will not cancel one, and when a cancel
// arrives while a submission is on its way.

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

  it('a farm job the Manager will not cancel is named in the reason; the job still ends cancelled', async () => {
    const jobId = await world.enqueue('render-flamenco', oneShot());
    await world.until(() => submissionsOf(jobId).length === 1, 'a submission');
    world.flamenco.control.failNext(10, 422, { path: /\/setstatus$/ });
    await world.queues.cancel(jobId, { by: 'marc.dubois@studio.example' }, 60);
    const view = await world.finished(jobId);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toMatch(
      /^Cancelled by marc\.dubois@studio\.example; not cancelled on Flamenco: E01 \/ SQ010 \/ SH010: Flamenco at http:\/\/127\.0\.0\.1:\d+ refused /,
    );
    expect(world.flamenco.state.jobs.get(submissionsOf(jobId)[0]?.jobId ?? '')?.status).not.toBe('canceled');
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
