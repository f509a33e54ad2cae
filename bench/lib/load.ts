import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  /** The status every answer should have; only those count towards req/s. */
  expectStatus: number;
}

export interface LoadResult {
  /** Answers with the expected status per second of the measured slices. */
  rps: number;
  /** Mean of the slices' p50, weighted by their answers. */
  p50Ms: number;
  /** The worst slice's p99. */
  p99Ms: number;
  /** Answers with the expected status, in the warm-up and in the measured slices. */
  expectedWarmup: number;
  expected: number;
  /** Every other status (and connection errors), warm-up and slices together. */
  unexpected: Record<string, number>;
  durationS: number;
  slices: Array<{ rps: number; p50Ms: number; p99Ms: number }>;
}

export interface Slice {
  counts: Map<string, number>;
  durationS: number;
  p50Ms: number;
  p99Ms: number;
}

async function fire(spec: LoadSpec, options: { durationS?: number; amount?: number }): Promise<Slice> {
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    connections: spec.connections,
    ...(options.amount === undefined ? { duration: options.durationS ?? 1 } : { amount: options.amount }),
    timeout: 10,
  });
  const counts = new Map<string, number>();
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) {
    counts.set(status, (counts.get(status) ?? 0) + (stats.count ?? 0));
  }
  if (result.errors > 0) counts.set('errors', result.errors);
  return { counts, durationS: result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

/** One autocannon run of `durationS` seconds. */
export function loadSlice(spec: LoadSpec, durationS: number): Promise<Slice> {
  return fire(spec, { durationS });
}

/** A warm-up and measured slices of the same target, as one result. */
export function merge(spec: LoadSpec, warmup: Slice, slices: Slice[]): LoadResult {
  const key = String(spec.expectStatus);
  const unexpected: Record<string, number> = {};
  for (const slice of [warmup, ...slices]) {
    for (const [status, count] of slice.counts) {
      if (status !== key) unexpected[status] = (unexpected[status] ?? 0) + count;
    }
  }
  const expectedOf = (slice: Slice): number => slice.counts.get(key) ?? 0;
  const expected = slices.reduce((sum, slice) => sum + expectedOf(slice), 0);
  const durationS = slices.reduce((sum, slice) => sum + slice.durationS, 0);
  return {
    rps: expected / durationS,
    p50Ms: slices.reduce((sum, slice) => sum + slice.p50Ms * expectedOf(slice), 0) / Math.max(1, expected),
    p99Ms: Math.max(...slices.map((slice) => slice.p99Ms)),
    expectedWarmup: expectedOf(warmup),
    expected,
    unexpected,
    durationS,
    slices: slices.map((slice) => ({
      rps: Math.round(expectedOf(slice) / slice.durationS),
      p50Ms: slice.p50Ms,
      p99Ms: slice.p99Ms,
    })),
  };
}

/**
 * Ours against its baseline on a noisy machine: a warm-up of each, then `slices` alternating runs
 * (baseline, ours, baseline, ours, …) of `durationS / slices` seconds, so a burst of noise from the
 * machine's other tenants falls on both sides rather than on one.
 */
export async function compareLoads(
  ours: LoadSpec,
  baseline: LoadSpec,
  timing: { durationS: number; warmupS: number; slices: number },
): Promise<{ ours: LoadResult; baseline: LoadResult }> {
  const sliceS = Math.max(1, Math.round(timing.durationS / timing.slices));
  const warmBaseline = await fire(baseline, { durationS: timing.warmupS });
  const warmOurs = await fire(ours, { durationS: timing.warmupS });
  const baselineSlices: Slice[] = [];
  const ourSlices: Slice[] = [];
  for (let index = 0; index < timing.slices; index += 1) {
    baselineSlices.push(await fire(baseline, { durationS: sliceS }));
    ourSlices.push(await fire(ours, { durationS: sliceS }));
  }
  return { ours: merge(ours, warmOurs, ourSlices), baseline: merge(baseline, warmBaseline, baselineSlices) };
}

/** Exactly `amount` requests over the spec's connections, as fast as they are answered. */
export async function fireAmount(
  spec: LoadSpec,
  amount: number,
): Promise<{ counts: Record<string, number>; durationS: number }> {
  const slice = await fire(spec, { amount });
  return { counts: Object.fromEntries(slice.counts), durationS: slice.durationS };
}
