/**
 * The `stats` figure (issue 12): a 100,000-task production served by the fake Zou in Zou's pages of 100.
 * Ours: the stats kind's loadStats + statsPage (every figure, the charts, the page) in a process of its
 * own; the baseline: the least a hand-written report does over the same pages (fetch, JSON.parse, count
 * by task type and status, four pages at a time), also in a process of its own. Sides alternate, twice
 * each; the figure is the best time of ours over the best of the baseline, and ours' peak RSS is checked
 * against 200 MB. The fake runs in the bench's process, so neither side's memory counts it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';
import { startFakeZou } from '../lib/fakes.ts';
import { measured, ratioGoal } from '../lib/figure.ts';
import { round } from '../lib/stats.ts';
import type { Figure, FigureContext } from '../lib/types.ts';

const tasks = 100_000;
const rounds = 2;
const maxRssMb = 200;
const childSource = path.join(import.meta.dirname, '../lib/stats-child.ts');
const childFile = path.join(import.meta.dirname, '../dist/stats-child.mjs');

/**
 * The child as plain JavaScript, as the worker's image runs (node on a bundle, no tsx): a loader that
 * compiles TypeScript as modules load would count its own memory and time against the report.
 */
async function bundleChild(): Promise<void> {
  await build({
    entryPoints: [childSource],
    outfile: childFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    keepNames: true,
    // The CommonJS packages in the bundle (pino) call require for Node's own modules.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}

interface Run {
  ms: number;
  /** ECharts' one-time import in that process (ours only). */
  importMs: number;
  tasks: number;
  maxRssKb: number;
}

function runSide(side: 'ours' | 'baseline', env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childFile, side], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`stats ${side} exited ${String(code)}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Run);
    });
  });
}

export const figure: Figure = {
  id: 'stats',
  title: `stats report over ${tasks.toLocaleString('en')} tasks (fake Zou, pages of 100) vs a bare single-pass count`,
  ...ratioGoal('<=', 1.5),
  async run(ctx: FigureContext) {
    await bundleChild();
    ctx.log(`seeding a fake Zou with ${tasks} tasks`);
    const zou = await startFakeZou({ bigProject: { tasks } });
    ctx.defer(() => zou.close());
    const env = {
      ZOU_URL: zou.url,
      ZOU_TOKEN: zou.seed.botToken,
      PROJECT_ID: zou.seed.ids.projects.big ?? '',
    };
    // One unmeasured pass warms the fake's sorted list (it is kept until a write).
    await runSide('baseline', env);
    const ours: Run[] = [];
    const baseline: Run[] = [];
    for (let index = 0; index < rounds; index += 1) {
      baseline.push(await runSide('baseline', env));
      ours.push(await runSide('ours', env));
    }
    const best = (runs: Run[]) => Math.min(...runs.map((run) => run.ms));
    const peakMb = (runs: Run[]) => Math.max(...runs.map((run) => run.maxRssKb)) / 1024;
    const oursMs = best(ours);
    const baselineMs = best(baseline);
    return {
      ...measured(oursMs / 1000, baselineMs / 1000, 's'),
      checks: [
        {
          name: `every task counted (${tasks})`,
          ok: [...ours, ...baseline].every((run) => run.tasks === tasks),
        },
        { name: `peak RSS of the report ≤ ${maxRssMb} MB`, ok: peakMb(ours) <= maxRssMb },
      ],
      notes: `ours ${round(oursMs / 1000, 2)} s (+ ${round(Math.min(...ours.map((run) => run.importMs)) / 1000, 2)} s ECharts import, once per worker), ${round(peakMb(ours), 0)} MB peak; baseline ${round(baselineMs / 1000, 2)} s, ${round(peakMb(baseline), 0)} MB`,
      details: {
        tasks,
        rounds,
        ours,
        baseline,
        peakRssMb: { ours: peakMb(ours), baseline: peakMb(baseline) },
      },
    };
  },
};
