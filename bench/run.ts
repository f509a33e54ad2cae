/**
 * `pnpm bench [figure…] [--profile]`: every figure is a ratio against a baseline measured in the same run,
 * on the same machine and Redis. Prints a table on stdout, writes bench/results.json. Exit code 1 when a
 * figure crashed; missed goals are reported, not fatal. With --profile, the child processes run under
 * --cpu-prof and their top frames are printed after the table.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { figure as ack } from './figures/ack.ts';
import { figure as burst } from './figures/burst.ts';
import { figure as enqueue } from './figures/enqueue.ts';
import { figure as form } from './figures/form.ts';
import { figure as pickup } from './figures/pickup.ts';
import { figure as readLoad } from './figures/read-load.ts';
import { figure as renderTracking } from './figures/render-tracking.ts';
import { figure as stats } from './figures/stats.ts';
import { figure as status } from './figures/status.ts';
import { figure as worker } from './figures/worker.ts';
import { benchDir, spawnHost, type Host } from './lib/hosts.ts';
import { summarizeProfile } from './lib/profile.ts';
import { redisVersion, removePrefix, withTimeout } from './lib/redis.ts';
import { fmt, round } from './lib/stats.ts';
import type { Check, Figure, FigureContext, Goal, Settings } from './lib/types.ts';

const figures: Figure[] = [
  ack,
  form,
  enqueue,
  pickup,
  status,
  readLoad,
  worker,
  burst,
  renderTracking,
  stats,
];

function intEnv(name: string, fallback: number, options: { allowZero?: boolean } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  const least = options.allowZero === true ? 0 : 1;
  if (!Number.isInteger(value) || value < least)
    throw new Error(`${name} must be a ${least === 0 ? 'whole number' : 'positive integer'}, got ${raw}`);
  return value;
}

const settings: Settings = {
  connections: intEnv('BENCH_CONNECTIONS', 32),
  durationS: intEnv('BENCH_DURATION_S', 10),
  warmupS: intEnv('BENCH_WARMUP_S', 3),
  slices: intEnv('BENCH_SLICES', 2),
  pickupJobs: intEnv('BENCH_PICKUP_JOBS', 200),
  pickupWarmupJobs: 100,
  workerJobs: intEnv('BENCH_WORKER_JOBS', 5000),
  workerRounds: intEnv('BENCH_WORKER_ROUNDS', 2),
  // The shipped default of WORKER_CONCURRENCY, for our worker and the raw one alike.
  workerConcurrency: intEnv('BENCH_WORKER_CONCURRENCY', 4),
  burstJobs: intEnv('BENCH_BURST_JOBS', 10_000),
  burstConnections: intEnv('BENCH_BURST_CONNECTIONS', 100),
  renderJobs: intEnv('BENCH_RENDER_JOBS', 200),
  renderWindowS: intEnv('BENCH_RENDER_WINDOW_S', 60),
  renderSettleS: intEnv('BENCH_RENDER_SETTLE_S', 0, { allowZero: true }),
};
const redisUrl = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

type Status = 'pass' | 'fail' | 'skipped' | 'error';

interface FigureRecord {
  figure: string;
  title: string;
  status: Status;
  goal: string;
  value?: number;
  baseline?: number;
  ratio?: number;
  unit?: string;
  checks?: Check[];
  notes?: string;
  reason?: string;
  error?: string;
  cleanup?: string;
  seconds: number;
  details?: Record<string, unknown>;
}

function meets(goal: Goal, ratio: number): boolean {
  return goal.op === '>=' ? ratio >= goal.target : ratio <= goal.target;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function runFigure(figure: Figure, profileDir: string | undefined): Promise<FigureRecord> {
  const started = performance.now();
  const cleanups: Array<() => Promise<void> | void> = [];
  const prefixes: string[] = [];
  const ctx: FigureContext = {
    redisUrl,
    settings,
    newPrefix() {
      const prefix = `{bench-${randomBytes(4).toString('hex')}}`;
      prefixes.push(prefix);
      return prefix;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    async spawnHost(role, env) {
      const host: Host = await spawnHost(role, env, { profileDir });
      cleanups.push(() => host.stop());
      return host;
    },
    log: (message) => log(`${figure.id}: ${message}`),
  };
  const base = { figure: figure.id, title: figure.title, goal: figure.goalText };
  let record: FigureRecord;
  try {
    const outcome = await figure.run(ctx);
    const seconds = round((performance.now() - started) / 1000, 1);
    if (outcome.status === 'skipped') {
      record = { ...base, status: 'skipped', reason: outcome.reason, seconds };
    } else {
      const ok =
        (figure.goal ? meets(figure.goal, outcome.ratio) : true) && outcome.checks.every((c) => c.ok);
      record = {
        ...base,
        status: ok ? 'pass' : 'fail',
        value: round(outcome.value, 3),
        baseline: round(outcome.baseline, 3),
        ratio: round(outcome.ratio, 3),
        unit: outcome.unit,
        checks: outcome.checks,
        notes: outcome.notes,
        seconds,
        details: outcome.details,
      };
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${figure.id} crashed: ${error instanceof Error ? (error.stack ?? message) : message}`);
    record = {
      ...base,
      status: 'error',
      error: message,
      seconds: round((performance.now() - started) / 1000, 1),
    };
  }
  const problems: string[] = [];
  for (const cleanup of cleanups.reverse()) {
    try {
      await withTimeout(Promise.resolve(cleanup()), 30_000, 'cleanup');
    } catch (error) {
      problems.push(String(error));
    }
  }
  for (const prefix of prefixes) {
    try {
      const { leftover } = await withTimeout(removePrefix(redisUrl, prefix), 60_000, `removing ${prefix}`);
      if (leftover > 0) log(`${figure.id}: ${leftover} keys left under ${prefix} after obliterate, removed`);
    } catch (error) {
      problems.push(String(error));
    }
  }
  if (problems.length > 0) log(`${figure.id}: cleanup problems: ${problems.join('; ')}`);
  if (problems.length > 0) record.cleanup = problems.join('; ');
  return record;
}

function printTable(records: FigureRecord[]): void {
  const header = ['figure', 'ours', 'baseline', 'unit', 'ratio', 'goal', 'result', 'notes'];
  const rows = records.map((record) => {
    const failedChecks = (record.checks ?? [])
      .filter((check) => !check.ok)
      .map((check) => `CHECK FAILED: ${check.name}`);
    const notes =
      record.status === 'skipped'
        ? (record.reason ?? '')
        : record.status === 'error'
          ? `crashed: ${(record.error ?? '').split('\n')[0]?.slice(0, 160) ?? ''}`
          : [record.notes ?? '', ...failedChecks].filter((part) => part !== '').join('; ');
    const num = (value: number | undefined): string => (value === undefined ? '—' : fmt(value));
    return [
      record.figure,
      num(record.value),
      num(record.baseline),
      record.unit ?? '—',
      record.ratio === undefined ? '—' : record.ratio.toFixed(2),
      record.goal,
      record.status.toUpperCase(),
      notes,
    ];
  });
  const widths = header.map((_, column) =>
    Math.max(
      ...[header, ...rows].slice(0, undefined).map((row) => (column === 7 ? 0 : (row[column] ?? '').length)),
    ),
  );
  const line = (row: string[]): string =>
    row
      .map((cell, column) => (column === 7 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(line(header.map((_, column) => '-'.repeat(column === 7 ? 5 : (widths[column] ?? 0)))));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((arg) => arg !== '--');
  const profile = args.includes('--profile');
  const filters = args.filter((arg) => !arg.startsWith('--'));
  const selected = figures.filter(
    (figure) => filters.length === 0 || filters.some((filter) => figure.id.startsWith(filter)),
  );
  if (selected.length === 0) {
    console.error(`no figure matches ${filters.join(' ')} (figures: ${figures.map((f) => f.id).join(', ')})`);
    return 2;
  }
  const startedAt = new Date();
  const profileDir = profile
    ? path.join(benchDir, 'profiles', startedAt.toISOString().replace(/[:.]/g, '-'))
    : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    redis: await redisVersion(redisUrl),
    redisUrl,
    date: startedAt.toISOString(),
    loadAverageAtStart: os.loadavg().map((value) => round(value, 2)),
  };
  console.log(
    `kitsu-actions bench — ${machine.date}, ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, redis ${machine.redis} at ${redisUrl}, load avg ${machine.loadAverageAtStart.join(' ')}`,
  );
  console.log(
    `settings: autocannon ${settings.connections} connections, ${settings.warmupS} s warm-up per side, then ${settings.durationS} s per side in ${settings.slices} alternating slices (baseline, ours, …); pickup ${settings.pickupJobs} sequential jobs per side (+${settings.pickupWarmupJobs} warm-up), alternating; worker ${settings.workerRounds} alternating rounds of ${settings.workerJobs} jobs per side; burst ${settings.burstJobs} actions over ${settings.burstConnections} connections; render-tracking ${settings.renderJobs} render jobs (worker concurrency ${settings.renderJobs}), ${settings.renderWindowS} s window after ${settings.renderSettleS} s settle; worker concurrency ${settings.workerConcurrency} for ours and raw; receiver LOG_LEVEL=info to /dev/null, AUTH_MODE=none, DEDUP_WINDOW_MS=0`,
  );
  const records: FigureRecord[] = [];
  for (const figure of selected) {
    log(`${figure.id}: ${figure.title}`);
    const record = await runFigure(figure, profileDir);
    log(`${figure.id}: ${record.status} in ${record.seconds} s`);
    records.push(record);
  }
  const totalSeconds = round((Date.now() - startedAt.getTime()) / 1000, 1);
  console.log('');
  printTable(records);
  console.log(`\ntotal ${totalSeconds} s; ratio = ours / baseline; results in bench/results.json`);
  writeFileSync(
    path.join(benchDir, 'results.json'),
    `${JSON.stringify(
      {
        machine: { ...machine, loadAverageAtEnd: os.loadavg().map((value) => round(value, 2)) },
        settings,
        totalSeconds,
        figures: records,
      },
      null,
      2,
    )}\n`,
  );
  if (profileDir) {
    const files = readdirSync(profileDir, { recursive: true, encoding: 'utf8' });
    for (const file of files.filter((name) => name.endsWith('.cpuprofile'))) {
      const summary = summarizeProfile(path.join(profileDir, file));
      if (summary) log(`\n${summary}`);
    }
  }
  return records.some((record) => record.status === 'error') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
