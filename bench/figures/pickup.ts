import { Queue, Worker } from 'bullmq';
import { createLogger, loadConfig } from '@kitsu-actions/shared';
import { handlers, startWorkers, type HandlerMap } from '../lib/apps.ts';
import { measured, ratioGoal } from '../lib/figure.ts';
import { ajaxJobData, debugJobOptions, fixture, receiverEnv } from '../lib/kitsu.ts';
import { connect } from '../lib/redis.ts';
import { Signals } from '../lib/signals.ts';
import { fmt, percentile, round } from '../lib/stats.ts';
import type { Figure, FigureContext } from '../lib/types.ts';

const waitMs = 10_000;

interface Sample {
  /** From just before the POST (or queue.add) to the handler (processor) starting. */
  toStart: number;
  /** processedOn − timestamp of the job: BullMQ's own view of the wait, millisecond resolution. */
  queueWait: number;
  /** Ours only: from just before the POST to its answer. */
  toAck?: number;
}

function summary(values: readonly number[]): { p50: number; p99: number; max: number } {
  return {
    p50: round(percentile(values, 50), 3),
    p99: round(percentile(values, 99), 3),
    max: round(Math.max(...values), 3),
  };
}

/** POST → our real worker (in this process) starting the real debug handler. */
async function ours(ctx: FigureContext): Promise<() => Promise<Sample>> {
  const prefix = ctx.newPrefix();
  const receiver = await ctx.spawnHost('receiver', receiverEnv(ctx.redisUrl, prefix));
  const baseUrl = `http://127.0.0.1:${receiver.port}`;
  const started = new Signals();
  const completed = new Signals();
  const queueWait = new Map<string, number>();
  // The real debug handler, with a timestamp taken as it is called.
  const timed: HandlerMap = {
    ...handlers,
    debug: (context) => {
      const id = context.job.id ?? '';
      started.mark(id);
      queueWait.set(id, (context.job.processedOn ?? Number.NaN) - context.job.timestamp);
      return handlers.debug(context);
    },
  };
  const config = loadConfig({
    REDIS_URL: ctx.redisUrl,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: baseUrl,
    WORKER_CONCURRENCY: String(ctx.settings.workerConcurrency),
  });
  const set = await startWorkers({
    config,
    handlers: timed,
    logger: createLogger({ level: 'silent', name: 'bench-worker' }),
  });
  ctx.defer(() => set.close());
  for (const worker of set.workers) worker.on('completed', (job) => completed.mark(job.id ?? ''));
  const shots = fixture('ajax-shots');
  return async () => {
    const before = performance.now();
    const response = await fetch(`${baseUrl}/actions/debug-background`, {
      method: 'POST',
      headers: shots.headers,
      body: shots.body,
    });
    const acked = performance.now();
    if (response.status !== 202)
      throw new Error(`POST answered ${response.status}: ${await response.text()}`);
    const { jobId } = (await response.json()) as { jobId: string };
    const start = await started.wait(jobId, waitMs);
    await completed.wait(jobId, waitMs);
    return { toStart: start - before, toAck: acked - before, queueWait: queueWait.get(jobId) ?? Number.NaN };
  };
}

/** queue.add → a plain BullMQ Worker (in this process) starting its processor. */
async function raw(ctx: FigureContext): Promise<() => Promise<Sample>> {
  const prefix = ctx.newPrefix();
  const producer = connect(ctx.redisUrl);
  const consumer = connect(ctx.redisUrl);
  const queue = new Queue('pages', { connection: producer, prefix });
  const started = new Signals();
  const completed = new Signals();
  const queueWait = new Map<string, number>();
  const worker = new Worker(
    'pages',
    (job) => {
      started.mark(job.id ?? '');
      queueWait.set(job.id ?? '', (job.processedOn ?? Number.NaN) - job.timestamp);
      return Promise.resolve();
    },
    { connection: consumer, prefix, concurrency: ctx.settings.workerConcurrency },
  );
  worker.on('error', () => undefined);
  worker.on('completed', (job) => completed.mark(job.id ?? ''));
  ctx.defer(async () => {
    await worker.close();
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  });
  await worker.waitUntilReady();
  const data = ajaxJobData();
  return async () => {
    const before = performance.now();
    const job = await queue.add('debug', data, debugJobOptions());
    const id = job.id ?? '';
    const start = await started.wait(id, waitMs);
    await completed.wait(id, waitMs);
    return { toStart: start - before, queueWait: queueWait.get(id) ?? Number.NaN };
  };
}

/** The floor of any HTTP hop: a POST of the same body to a bare Koa app, no Redis. */
async function bareHttp(ctx: FigureContext): Promise<() => Promise<number>> {
  const bare = await ctx.spawnHost('bare', { BENCH_BARE: 'json-202' });
  const shots = fixture('ajax-shots');
  return async () => {
    const before = performance.now();
    const response = await fetch(`http://127.0.0.1:${bare.port}/actions/debug-background`, {
      method: 'POST',
      headers: shots.headers,
      body: shots.body,
    });
    await response.arrayBuffer();
    return performance.now() - before;
  };
}

export const figure: Figure = {
  id: 'pickup',
  title: 'POST → our worker starting the debug handler (p50) vs raw queue.add → raw Worker (sequential)',
  ...ratioGoal('<=', 1.5),
  async run(ctx) {
    const { pickupJobs, pickupWarmupJobs } = ctx.settings;
    const [oursOnce, rawOnce, httpOnce] = await Promise.all([ours(ctx), raw(ctx), bareHttp(ctx)]);
    ctx.log(
      `${pickupWarmupJobs} warm-up + ${pickupJobs} rounds of one job each way (ours, raw, bare HTTP), one at a time`,
    );
    const oursSamples: Sample[] = [];
    const rawSamples: Sample[] = [];
    const httpSamples: number[] = [];
    for (let index = 0; index < pickupWarmupJobs + pickupJobs; index += 1) {
      const o = await oursOnce();
      const r = await rawOnce();
      const h = await httpOnce();
      if (index < pickupWarmupJobs) continue;
      oursSamples.push(o);
      rawSamples.push(r);
      httpSamples.push(h);
    }
    const o = summary(oursSamples.map((sample) => sample.toStart));
    const r = summary(rawSamples.map((sample) => sample.toStart));
    const http = summary(httpSamples);
    const acked = summary(oursSamples.map((sample) => sample.toAck ?? Number.NaN));
    return {
      ...measured(o.p50, r.p50, 'ms p50'),
      checks: [],
      notes: `p99 ${fmt(o.p99)} vs ${fmt(r.p99)} ms; ours POST→202 p50 ${fmt(acked.p50)} ms; a bare-Koa POST round trip alone: p50 ${fmt(http.p50)} ms`,
      details: {
        jobs: pickupJobs,
        workerConcurrency: ctx.settings.workerConcurrency,
        ours: {
          postToHandlerStartMs: o,
          postTo202Ms: acked,
          processedOnMinusTimestampMs: summary(oursSamples.map((sample) => sample.queueWait)),
        },
        baseline: {
          addToProcessorStartMs: r,
          processedOnMinusTimestampMs: summary(rawSamples.map((sample) => sample.queueWait)),
        },
        bareKoaPostRoundTripMs: http,
        p99Ratio: round(o.p99 / r.p99, 2),
      },
    };
  },
};
