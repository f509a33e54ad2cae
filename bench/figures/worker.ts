import { Queue } from 'bullmq';
import { loadConfig } from '@kitsu-actions/shared';
import { measured, ratioGoal } from '../lib/figure.ts';
import { ajaxJobData, debugJobOptions } from '../lib/kitsu.ts';
import type { HostRole } from '../lib/messages.ts';
import { connect, jobCounts } from '../lib/redis.ts';
import { fmt, round } from '../lib/stats.ts';
import type { Figure, FigureContext } from '../lib/types.ts';

const warmupJobs = 200;
const addChunk = 1000;

async function addJobs(queue: Queue, count: number): Promise<void> {
  const data = ajaxJobData();
  for (let done = 0; done < count; done += addChunk) {
    const size = Math.min(addChunk, count - done);
    await queue.addBulk(
      Array.from({ length: size }, () => ({ name: 'debug', data, opts: debugJobOptions() })),
    );
  }
}

interface Side {
  role: HostRole;
  prefix: string;
  seconds: number[];
  failed: number;
  firstFailure: string | null;
  /** Adds the jobs to the paused queue, then times the worker from resume to its last job. */
  round(): Promise<void>;
}

/** A worker process on a queue of its own, warmed up with a small batch. */
async function side(ctx: FigureContext, role: HostRole): Promise<Side> {
  const { workerJobs, workerConcurrency } = ctx.settings;
  const prefix = ctx.newPrefix();
  const redis = connect(ctx.redisUrl);
  const queue = new Queue('pages', { connection: redis, prefix });
  ctx.defer(async () => {
    await queue.close();
    redis.disconnect();
  });
  await queue.pause();
  const worker = await ctx.spawnHost(role, {
    REDIS_URL: ctx.redisUrl,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: 'http://127.0.0.1:8080',
    WORKER_CONCURRENCY: String(workerConcurrency),
    LOG_LEVEL: 'info',
  });
  await addJobs(queue, warmupJobs);
  await queue.resume();
  await worker.waitForJobs(warmupJobs, 60_000);
  await queue.pause();
  let finished = warmupJobs;
  const result: Side = {
    role,
    prefix,
    seconds: [],
    failed: 0,
    firstFailure: null,
    async round() {
      await addJobs(queue, workerJobs);
      finished += workerJobs;
      const start = performance.now();
      await queue.resume();
      const reached = await worker.waitForJobs(finished, 120_000);
      result.seconds.push((performance.now() - start) / 1000);
      await queue.pause();
      result.failed = reached.failed;
      result.firstFailure = reached.firstFailure;
    },
  };
  return result;
}

function jobsPerSecond(ctx: FigureContext, each: Side): number {
  return (
    (ctx.settings.workerJobs * each.seconds.length) / each.seconds.reduce((sum, value) => sum + value, 0)
  );
}

export const figure: Figure = {
  id: 'worker',
  title: 'jobs/s through our worker (startWorkers + real debug handler) vs raw BullMQ Worker no-op',
  ...ratioGoal('>=', 0.8),
  async run(ctx) {
    const { workerJobs, workerRounds, workerConcurrency } = ctx.settings;
    const ours = await side(ctx, 'worker');
    // Not the figure: our machinery with a no-op handler, to tell the handler's cost from the path's.
    const noop = await side(ctx, 'worker-noop');
    const raw = await side(ctx, 'raw-worker');
    ctx.log(
      `${workerRounds} rounds of ${workerJobs} jobs: ours, ours with a no-op handler, raw; concurrency ${workerConcurrency}`,
    );
    for (let index = 0; index < workerRounds; index += 1) {
      for (const each of [raw, ours, noop]) await each.round();
    }
    const [oursRate, noopRate, rawRate] = [ours, noop, raw].map((each) => jobsPerSecond(ctx, each)) as [
      number,
      number,
      number,
    ];
    const total = warmupJobs + workerRounds * workerJobs;
    const kept = Math.min(total, loadConfig({}).retention.completed.count);
    const oursCounts = await jobCounts(ctx.redisUrl, ours.prefix);
    const describe = (each: Side) => ({
      jobsPerSecond: round(jobsPerSecond(ctx, each), 1),
      seconds: each.seconds.map((value) => round(value, 3)),
      failed: each.failed,
      firstFailure: each.firstFailure,
    });
    return {
      ...measured(oursRate, rawRate, 'jobs/s'),
      checks: [
        {
          name: `ours: no job failed${ours.firstFailure ? ` (${ours.firstFailure})` : ''}`,
          ok: ours.failed === 0,
        },
        {
          name: `ours: ${kept} completed jobs kept in Redis (retention), got ${oursCounts['completed'] ?? 0}`,
          ok: oursCounts['completed'] === kept,
        },
      ],
      notes: `real debug handler, concurrency ${workerConcurrency}; our path with a no-op handler: ${fmt(noopRate)} jobs/s (ratio ${(noopRate / rawRate).toFixed(2)})`,
      details: {
        handler:
          'the real debug handler (apps/worker/src/handlers/debug) through startWorkers/createProcessor',
        workerJobs,
        rounds: workerRounds,
        concurrency: workerConcurrency,
        ours: { ...describe(ours), counts: oursCounts },
        oursNoopHandler: { ...describe(noop), ratio: round(noopRate / rawRate, 3) },
        baseline: describe(raw),
      },
    };
  },
};
