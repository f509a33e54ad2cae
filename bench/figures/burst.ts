import { Queue } from 'bullmq';
import { measured } from '../lib/figure.ts';
import { ajaxJobData, debugJobOptions, fixture, receiverEnv } from '../lib/kitsu.ts';
import { fireAmount } from '../lib/load.ts';
import { connect, jobCounts } from '../lib/redis.ts';
import { fmt, round } from '../lib/stats.ts';
import type { Figure, FigureContext } from '../lib/types.ts';

interface Burst {
  seconds: number;
  acceptSeconds: number;
  accepted: number;
  failed: number;
  counts: Record<string, number>;
  statuses: Record<string, number>;
}

function workerEnv(ctx: FigureContext, prefix: string, publicUrl: string): Record<string, string> {
  return {
    REDIS_URL: ctx.redisUrl,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: publicUrl,
    WORKER_CONCURRENCY: String(ctx.settings.workerConcurrency),
    LOG_LEVEL: 'info',
  };
}

/** N actions fired at the receiver while our worker runs; timed until the worker has finished them. */
async function ours(ctx: FigureContext): Promise<Burst> {
  const { burstJobs, burstConnections } = ctx.settings;
  const prefix = ctx.newPrefix();
  const receiver = await ctx.spawnHost('receiver', receiverEnv(ctx.redisUrl, prefix));
  const worker = await ctx.spawnHost('worker', workerEnv(ctx, prefix, `http://127.0.0.1:${receiver.port}`));
  const shots = fixture('ajax-shots');
  ctx.log(`ours: ${burstJobs} POSTs over ${burstConnections} connections, worker running`);
  const start = performance.now();
  const fired = await fireAmount(
    {
      url: `http://127.0.0.1:${receiver.port}/actions/debug-background`,
      method: 'POST',
      headers: shots.headers,
      body: shots.body,
      connections: burstConnections,
      expectStatus: 202,
    },
    burstJobs,
  );
  const acceptSeconds = (performance.now() - start) / 1000;
  const accepted = fired.counts['202'] ?? 0;
  const reached = await worker.waitForJobs(accepted, 180_000);
  const seconds = (performance.now() - start) / 1000;
  await worker.stop();
  await receiver.stop();
  return {
    seconds: round(seconds, 3),
    acceptSeconds: round(acceptSeconds, 3),
    accepted,
    failed: reached.failed,
    counts: await jobCounts(ctx.redisUrl, prefix),
    statuses: fired.counts,
  };
}

/** The same jobs added with addBulk (chunks of 1,000) while a raw no-op Worker runs. */
async function raw(ctx: FigureContext): Promise<Burst> {
  const { burstJobs } = ctx.settings;
  const prefix = ctx.newPrefix();
  const worker = await ctx.spawnHost('raw-worker', workerEnv(ctx, prefix, 'http://127.0.0.1:8080'));
  const redis = connect(ctx.redisUrl);
  const queue = new Queue('pages', { connection: redis, prefix });
  ctx.defer(async () => {
    await queue.close();
    redis.disconnect();
  });
  const data = ajaxJobData();
  ctx.log(`raw: ${burstJobs} jobs with addBulk, raw worker running`);
  const start = performance.now();
  for (let done = 0; done < burstJobs; done += 1000) {
    const size = Math.min(1000, burstJobs - done);
    await queue.addBulk(
      Array.from({ length: size }, () => ({ name: 'debug', data, opts: debugJobOptions() })),
    );
  }
  const acceptSeconds = (performance.now() - start) / 1000;
  const reached = await worker.waitForJobs(burstJobs, 180_000);
  const seconds = (performance.now() - start) / 1000;
  await worker.stop();
  return {
    seconds: round(seconds, 3),
    acceptSeconds: round(acceptSeconds, 3),
    accepted: burstJobs,
    failed: reached.failed,
    counts: await jobCounts(ctx.redisUrl, prefix),
    statuses: {},
  };
}

export const figure: Figure = {
  id: 'burst',
  title:
    'burst of AJAX actions at the receiver, our worker running: time to drain vs raw addBulk + raw Worker',
  goalText: 'accepted = completed (ratio reported)',
  async run(ctx) {
    const { burstJobs, burstConnections, workerConcurrency } = ctx.settings;
    const o = await ours(ctx);
    const r = await raw(ctx);
    const completed = o.counts['completed'] ?? 0;
    return {
      ...measured(o.seconds, r.seconds, 's to drain'),
      checks: [
        { name: `all ${burstJobs} accepted (202: ${o.accepted})`, ok: o.accepted === burstJobs },
        { name: `accepted = completed (${o.accepted} = ${completed})`, ok: completed === o.accepted },
        { name: `no failed job (${o.failed})`, ok: o.failed === 0 && (o.counts['failed'] ?? 0) === 0 },
      ],
      notes: `${o.accepted} × 202 = ${completed} completed; accepted in ${fmt(o.acceptSeconds)} s (raw add ${fmt(r.acceptSeconds)} s); ${burstConnections} conns, worker concurrency ${workerConcurrency}`,
      details: { burstJobs, burstConnections, workerConcurrency, ours: o, baseline: r },
    };
  },
};
