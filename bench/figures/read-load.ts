import { JobQueues } from '@kitsu-actions/shared';
import { measured, ratioGoal } from '../lib/figure.ts';
import { ajaxJobData, benchAction, fixture, receiverEnv } from '../lib/kitsu.ts';
import { connect } from '../lib/redis.ts';
import { fmt, percentile, round } from '../lib/stats.ts';
import type { Figure } from '../lib/types.ts';

/** Jobs already queued (no worker, as in a flood): what every listing pages through. */
const seeded = 1200;
/** Clients looping GET /jobs while the actions are posted. */
const readers = 8;

/**
 * Reads never starve the acknowledgement of an action: the p99 of an action POST's 202 while 8 clients loop
 * GET /jobs over 1,200 queued jobs, against the same POSTs with no reader, on the same receiver.
 */
export const figure: Figure = {
  id: 'read-load',
  title: `POST → 202 p99 while ${readers} clients loop GET /jobs (${seeded} jobs queued) vs no reader`,
  ...ratioGoal('<=', 3),
  async run(ctx) {
    const prefix = ctx.newPrefix();
    const connection = connect(ctx.redisUrl);
    ctx.defer(() => connection.disconnect());
    await connection.ping();
    const queues = new JobQueues(connection, { prefix, timeoutMs: 5000, dedupWindowMs: 0 });
    const data = ajaxJobData();
    const action = benchAction('debug-background');
    for (let start = 0; start < seeded; start += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, seeded - start) }, () =>
          queues.enqueue(action, data.request, data.raw),
        ),
      );
    }
    const receiver = await ctx.spawnHost('receiver', receiverEnv(ctx.redisUrl, prefix));
    const baseUrl = `http://127.0.0.1:${receiver.port}`;
    const shots = fixture('ajax-shots');
    const posts = ctx.settings.pickupJobs;

    const postAll = async (): Promise<{ latencies: number[]; refused: number }> => {
      const latencies: number[] = [];
      let refused = 0;
      for (let index = 0; index < posts; index += 1) {
        const started = performance.now();
        const response = await fetch(`${baseUrl}/actions/debug-background`, {
          method: 'POST',
          headers: shots.headers,
          body: shots.body,
        });
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        if (response.status !== 202) refused += 1;
      }
      return { latencies, refused };
    };

    ctx.log(`read-load: ${seeded} jobs queued; ${posts} POSTs alone, then ${posts} with ${readers} readers`);
    await postAll(); // warm-up
    const alone = await postAll();
    let stop = false;
    let reads = 0;
    let readFailures = 0;
    const looping = Array.from({ length: readers }, async () => {
      while (!stop) {
        const response = await fetch(`${baseUrl}/jobs`, { headers: { Accept: 'application/json' } });
        await response.arrayBuffer();
        if (response.ok) reads += 1;
        else readFailures += 1;
      }
    });
    let loaded: { latencies: number[]; refused: number };
    try {
      loaded = await postAll();
    } finally {
      stop = true;
      await Promise.all(looping);
    }
    const p99 = (values: number[]) => round(percentile(values, 99), 3);
    const p50 = (values: number[]) => round(percentile(values, 50), 3);
    return {
      ...measured(p99(loaded.latencies), p99(alone.latencies), 'ms p99'),
      checks: [
        {
          name: `every POST answered 202 (${alone.refused + loaded.refused} did not)`,
          ok: alone.refused + loaded.refused === 0,
        },
        {
          name: `the readers read (${reads} listings, ${readFailures} failed)`,
          ok: reads > readers && readFailures === 0,
        },
      ],
      notes: `p50 ${fmt(p50(loaded.latencies))} vs ${fmt(p50(alone.latencies))} ms; ${reads} GET /jobs during the loaded POSTs`,
      details: {
        seeded,
        readers,
        posts,
        reads,
        readFailures,
        alone: alone.latencies.length,
        loaded: loaded.latencies.length,
      },
    };
  },
};
