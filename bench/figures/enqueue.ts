import { Queue } from 'bullmq';
import { measured, ratioGoal } from '../lib/figure.ts';
import { ajaxJobData, debugJobOptions, fixture, receiverEnv } from '../lib/kitsu.ts';
import { loadSlice, merge, type LoadSpec, type Slice } from '../lib/load.ts';
import { loadDetails, unexpectedCheck } from '../lib/receiver-vs-bare.ts';
import { connect } from '../lib/redis.ts';
import { fmt, round } from '../lib/stats.ts';
import type { Figure } from '../lib/types.ts';

/** `loops` concurrent loops calling `work` until `durationMs` is over. */
async function loopFor(
  loops: number,
  durationMs: number,
  work: () => Promise<unknown>,
): Promise<{ calls: number; seconds: number }> {
  let calls = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < end) {
        await work();
        calls += 1;
      }
    }),
  );
  return { calls, seconds: (performance.now() - start) / 1000 };
}

export const figure: Figure = {
  id: 'enqueue',
  title: 'receiver AJAX req/s vs raw BullMQ queue.add calls/s (same concurrency, same Redis)',
  ...ratioGoal('>=', 0.5),
  async run(ctx) {
    const { connections, durationS, warmupS, slices } = ctx.settings;
    const shots = fixture('ajax-shots');
    const receiver = await ctx.spawnHost('receiver', receiverEnv(ctx.redisUrl, ctx.newPrefix()));
    const spec: LoadSpec = {
      url: `http://127.0.0.1:${receiver.port}/actions/debug-background`,
      method: 'POST',
      headers: shots.headers,
      body: shots.body,
      connections,
      expectStatus: 202,
    };
    const redis = connect(ctx.redisUrl);
    const queue = new Queue('pages', { connection: redis, prefix: ctx.newPrefix() });
    ctx.defer(async () => {
      await queue.close();
      redis.disconnect();
    });
    const data = ajaxJobData();
    const add = () => queue.add('debug', data, debugJobOptions());

    ctx.log(
      `raw queue.add (${connections} loops) vs receiver (${connections} connections): ${warmupS}s warm-up each, ${slices} alternating slices, ${durationS}s each side`,
    );
    const sliceS = Math.max(1, Math.round(durationS / slices));
    await loopFor(connections, warmupS * 1000, add);
    const warm = await loadSlice(spec, warmupS);
    const ourSlices: Slice[] = [];
    let rawCalls = 0;
    let rawSeconds = 0;
    const rawSlices: number[] = [];
    for (let index = 0; index < slices; index += 1) {
      const raw = await loopFor(connections, sliceS * 1000, add);
      rawCalls += raw.calls;
      rawSeconds += raw.seconds;
      rawSlices.push(Math.round(raw.calls / raw.seconds));
      ourSlices.push(await loadSlice(spec, sliceS));
    }
    const ours = merge(spec, warm, ourSlices);
    const raw = rawCalls / rawSeconds;
    return {
      ...measured(ours.rps, raw, 'jobs/s'),
      checks: [unexpectedCheck('receiver', ours)],
      notes: `receiver p50 ${fmt(ours.p50Ms)} ms, p99 ${fmt(ours.p99Ms)} ms; raw: ${connections} loops in the bench process`,
      details: {
        ours: loadDetails(ours),
        baseline: { callsPerSecond: round(raw, 1), loops: connections, slices: rawSlices },
      },
    };
  },
};
