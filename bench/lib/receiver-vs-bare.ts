import { measured } from './figure.ts';
import { fixture, receiverEnv } from './kitsu.ts';
import { compareLoads, type LoadResult, type LoadSpec } from './load.ts';
import { jobCounts } from './redis.ts';
import { fmt, round } from './stats.ts';
import type { Check, FigureContext, Measured } from './types.ts';

export function latencyNotes(ours: LoadResult, base: LoadResult): string {
  return `p50 ${fmt(ours.p50Ms)} vs ${fmt(base.p50Ms)} ms, p99 ${fmt(ours.p99Ms)} vs ${fmt(base.p99Ms)} ms`;
}

export function loadDetails(result: LoadResult): Record<string, unknown> {
  return { ...result, rps: round(result.rps, 1), p50Ms: round(result.p50Ms, 2) };
}

export function unexpectedCheck(name: string, result: LoadResult): Check {
  const other = Object.entries(result.unexpected)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
  return {
    name: `${name}: every answer as expected${other === '' ? '' : ` (got ${other})`}`,
    ok: other === '',
  };
}

/** A Kitsu request fired at the real receiver and at a bare Koa app giving the same answer, alternately. */
export async function receiverVsBare(
  ctx: FigureContext,
  options: {
    fixture: 'ajax-shots' | 'form-assets';
    path: string;
    expectStatus: number;
    bare: 'json-202' | 'form-303';
  },
): Promise<Measured> {
  const request = fixture(options.fixture);
  const prefix = ctx.newPrefix();
  const [receiver, bare] = await Promise.all([
    ctx.spawnHost('receiver', receiverEnv(ctx.redisUrl, prefix)),
    ctx.spawnHost('bare', { BENCH_BARE: options.bare }),
  ]);
  const { connections, durationS, warmupS, slices } = ctx.settings;
  const spec = (port: number): LoadSpec => ({
    url: `http://127.0.0.1:${port}${options.path}`,
    method: 'POST',
    headers: request.headers,
    body: request.body,
    connections,
    expectStatus: options.expectStatus,
  });
  ctx.log(
    `receiver vs bare koa (${options.bare}) on ${options.path}: ${warmupS}s warm-up each, then ${slices} alternating slices, ${durationS}s each side, ${connections} connections`,
  );
  const { ours, baseline } = await compareLoads(spec(receiver.port), spec(bare.port), {
    durationS,
    warmupS,
    slices,
  });
  const counts = await jobCounts(ctx.redisUrl, prefix);
  const inRedis = Object.values(counts).reduce((sum, count) => sum + count, 0);
  const accepted = ours.expected + ours.expectedWarmup;
  const runs = slices + 1;
  return {
    ...measured(ours.rps, baseline.rps, 'req/s'),
    checks: [
      unexpectedCheck('receiver', ours),
      unexpectedCheck('bare', baseline),
      {
        // Requests still in flight when autocannon stops a run (at most one per connection and run) are
        // queued without their answer being counted.
        name: `every accepted request is a job in Redis (${accepted} accepted, ${inRedis} jobs)`,
        ok: inRedis >= accepted && inRedis <= accepted + runs * connections,
      },
    ],
    notes: latencyNotes(ours, baseline),
    details: { ours: loadDetails(ours), baseline: loadDetails(baseline), jobsInRedis: counts },
  };
}
