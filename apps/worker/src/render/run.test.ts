import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobProgress } from '@kitsu-actions/shared';
import { JobCancelled, RenderResult, cancelReason } from '@kitsu-actions/shared';
import { memoryJobStore } from '../../test/memory-store.ts';
import {
  flamencoSubmissions,
  runRenderHandler,
  startRenderWorldAndWorkers,
  type RenderWorld,
} from '../../test/render-kit.ts';
import { describeProgress } from './run.ts';

// What a render job tells the person watching it (each step, the farm's progress, the result), what a
// run finds already done by an earlier one, and a cancel made on the farm itself.

let world: RenderWorld;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ world, close } = await startRenderWorldAndWorkers(inject('redisUrl'), 'render-run-test'));
});

afterAll(() => close());

const submissionsOf = (jobId: string) => flamencoSubmissions(world, jobId);

const labels = ['E01 / SQ010 / SH010', 'E01 / SQ010 / SH020'];
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
    const again = await runRenderHandler(
      world,
      'flamenco',
      data,
      jobId,
      memoryJobStore(records),
      (progress) => said.push(progress.message),
    );
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
      (progress) => said.push(progress),
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
