import { measured, ratioGoal } from '../lib/figure.ts';
import { fixture, receiverEnv } from '../lib/kitsu.ts';
import { compareLoads, type LoadSpec } from '../lib/load.ts';
import { latencyNotes, loadDetails, unexpectedCheck } from '../lib/receiver-vs-bare.ts';
import { sleep } from '../lib/stats.ts';
import type { Figure } from '../lib/types.ts';

export const figure: Figure = {
  id: 'status',
  title: 'GET /jobs/:id (a completed job, JSON) req/s vs bare Koa answering the same JSON',
  ...ratioGoal('>=', 0.6),
  async run(ctx) {
    const { connections, durationS, warmupS, slices, workerConcurrency } = ctx.settings;
    const prefix = ctx.newPrefix();
    const receiver = await ctx.spawnHost('receiver', receiverEnv(ctx.redisUrl, prefix));
    const baseUrl = `http://127.0.0.1:${receiver.port}`;
    // One real job, run to completion by our real worker.
    const worker = await ctx.spawnHost('worker', {
      REDIS_URL: ctx.redisUrl,
      QUEUE_PREFIX: prefix,
      PUBLIC_URL: baseUrl,
      WORKER_CONCURRENCY: String(workerConcurrency),
      LOG_LEVEL: 'silent',
    });
    const shots = fixture('ajax-shots');
    const posted = await fetch(`${baseUrl}/actions/debug-background`, {
      method: 'POST',
      headers: shots.headers,
      body: shots.body,
    });
    const { jobId } = (await posted.json()) as { jobId: string };
    await worker.waitForJobs(1, 20_000);
    await worker.stop();
    let view = '';
    for (let attempt = 0; attempt < 50 && !view.includes('"state":"completed"'); attempt += 1) {
      if (attempt > 0) await sleep(100);
      const response = await fetch(`${baseUrl}/jobs/${jobId}`, { headers: { Accept: 'application/json' } });
      view = await response.text();
    }
    if (!view.includes('"state":"completed"')) throw new Error(`job ${jobId} did not complete: ${view}`);

    const bare = await ctx.spawnHost('bare', { BENCH_BARE: 'fixed-json', BENCH_FIXED_JSON: view });
    const spec = (url: string): LoadSpec => ({
      url,
      method: 'GET',
      headers: { Accept: 'application/json' },
      connections,
      expectStatus: 200,
    });
    ctx.log(
      `receiver GET /jobs/${jobId} vs bare koa fixed JSON: ${warmupS}s warm-up each, ${slices} alternating slices, ${durationS}s each side, ${connections} connections`,
    );
    const { ours, baseline } = await compareLoads(
      spec(`${baseUrl}/jobs/${jobId}`),
      spec(`http://127.0.0.1:${bare.port}/jobs/${jobId}`),
      { durationS, warmupS, slices },
    );
    return {
      ...measured(ours.rps, baseline.rps, 'req/s'),
      checks: [unexpectedCheck('receiver', ours), unexpectedCheck('bare', baseline)],
      notes: latencyNotes(ours, baseline),
      details: {
        jobId,
        bodyBytes: Buffer.byteLength(view),
        ours: loadDetails(ours),
        baseline: loadDetails(baseline),
      },
    };
  },
};
