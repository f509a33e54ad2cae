/**
 * Figure 8 (issue 6): what a long render costs while it waits. N render.flamenco jobs (one shot each) are
 * tracked by our real worker against a fake Flamenco whose jobs stay `active` for hours; the baseline is
 * the same N BullMQ jobs held active by a raw BullMQ Worker whose processor only awaits. Both sides run
 * at the same time, each on a private redis-server, over the same window: worker CPU (process.cpuUsage of
 * the child, every thread) and Redis commands (INFO commandstats deltas; these count the commands run
 * inside BullMQ's Lua scripts too) per tracked job per minute, and the fake Flamenco's status polls.
 */
import type { Redis } from 'ioredis';
import {
  JobProgress,
  JobQueues,
  parseCatalogue,
  type VerifiedRequest,
  type CatalogueAction,
} from '@kitsu-actions/shared';
import { startFakeFlamenco, startFakeZou, startRedisServer, type FakeFlamenco } from '../lib/fakes.ts';
import { measured } from '../lib/figure.ts';
import type { Host } from '../lib/hosts.ts';
import { connect } from '../lib/redis.ts';
import { fmt, round, sleep } from '../lib/stats.ts';
import type { Check, Figure, FigureContext } from '../lib/types.ts';

/** The queue prefix on both private Redis servers (each figure run gets fresh servers). */
const prefix = '{bench-render}';

/** The shipped example's render.flamenco action (actions.example.yaml), with the Kitsu comment on. */
const catalogueYaml = `
actions:
  - id: render-flamenco
    name: Render lighting on Flamenco
    kind: render.flamenco
    entityType: shot
    report: { comment: true }
    options:
      jobType: simple-blender-render
      jobName: "{project.code} {sequence.name} {shot.name} {taskType.name}"
      priority: 50
      submitterPlatform: linux
      settings:
        blendfile: "/prod/{project.code}/{sequence.name}/{shot.name}/lighting.blend"
        render_output_root: "/render/{project.code}"
        render_output_path: "/render/{project.code}/{sequence.name}/{shot.name}/{taskType.name}/######"
        chunk_size: 10
        format: PNG
        image_file_extension: .png
`;

/** Goal bounds, per tracked job: commands per second, CPU milliseconds per second. */
const maxCommandsPerSecond = 1;
const maxCpuMsPerSecond = 1;

const statusPath = /^\/api\/v3\/jobs\/[0-9a-f-]{36}$/;

interface Side {
  name: 'ours' | 'baseline';
  host: Host;
  /** The bench's connection for INFO and the checks (idle during the window but for INFO). */
  redis: Redis;
  queues: JobQueues;
}

interface Snapshot {
  cpuUs: number;
  commands: Map<string, number>;
}

async function commandCounts(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    counts.set(match[1] ?? '', Number(match[2]));
  }
  return counts;
}

async function snapshot(side: Side): Promise<Snapshot> {
  const usage = await side.host.cpuUsage();
  return { cpuUs: usage.userUs + usage.systemUs, commands: await commandCounts(side.redis) };
}

interface Measured {
  cpuMs: number;
  commands: number;
  /** Commands by name (INFO itself left out: that is the bench asking), most first. */
  byCommand: Record<string, number>;
}

function difference(before: Snapshot, after: Snapshot): Measured {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [name, calls] of after.commands) {
    if (name === 'info') continue;
    const delta = calls - (before.commands.get(name) ?? 0);
    if (delta <= 0) continue;
    byCommand[name] = delta;
    commands += delta;
  }
  const sorted = Object.fromEntries(Object.entries(byCommand).sort(([, a], [, b]) => b - a));
  return { cpuMs: (after.cpuUs - before.cpuUs) / 1000, commands, byCommand: sorted };
}

async function activeCount(side: Side): Promise<{ active: number; failed: number; firstFailure?: string }> {
  const queue = side.queues.queue('render');
  const counts = await queue.getJobCounts('active', 'failed');
  const failed = counts['failed'] ?? 0;
  if (failed === 0) return { active: counts['active'] ?? 0, failed };
  const [first] = await queue.getFailed(0, 0);
  return { active: counts['active'] ?? 0, failed, firstFailure: first?.failedReason ?? '?' };
}

/** Every job of ours is active and says its one shot is rendering (the farm job was polled as active). */
async function oursTracking(side: Side, jobs: number): Promise<number> {
  const active = await side.queues.queue('render').getActive(0, jobs);
  return active.filter((job) => {
    const progress = JobProgress.safeParse(job.progress);
    return progress.success && progress.data.message.startsWith('1 of 1 shot rendering');
  }).length;
}

async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<string | true>,
  log: (message: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const state = await check();
    if (state === true) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${state}`);
    if (Date.now() - lastReport > 5000) {
      log(`waiting for ${what}: ${state}`);
      lastReport = Date.now();
    }
    await sleep(250);
  }
}

function statusPolls(flamenco: FakeFlamenco): number {
  return flamenco.state.requests.filter((entry) => entry.method === 'GET' && statusPath.test(entry.path))
    .length;
}

export const figure: Figure = {
  id: 'render-tracking',
  title:
    'render jobs waiting on long Flamenco renders: our worker (real render.flamenco handler) vs raw BullMQ Worker holding the same jobs',
  goalText: `ratio reported; < ${maxCommandsPerSecond} Redis cmd/s and < ${maxCpuMsPerSecond} ms CPU/s per job`,
  async run(ctx: FigureContext) {
    const { renderJobs: jobs, renderWindowS: windowS, renderSettleS: settleS } = ctx.settings;
    const oursServer = await startRedisServer();
    ctx.defer(() => oursServer.destroy());
    const baselineServer = await startRedisServer();
    ctx.defer(() => baselineServer.destroy());
    // Big Show: 3 tasks per shot (animation, lighting, compositing), shots of 48-120 frames.
    const zou = await startFakeZou({ bigProject: { tasks: 3 * jobs } });
    ctx.defer(() => zou.close());
    // Jobs start as soon as the clock ticks and each 10-frame chunk takes a day: active, 0 %, all along.
    const flamenco = await startFakeFlamenco({ startDelayMs: 0, taskMs: 24 * 3_600_000, tickMs: 100 });
    ctx.defer(() => flamenco.close());
    ctx.log(
      `private redis ${oursServer.url} (ours), ${baselineServer.url} (baseline); fake Zou ${zou.url}, fake Flamenco ${flamenco.url}`,
    );

    // Product defaults for everything else: FARM_POLL_INTERVAL_MS 5 s doubling to 60 s while nothing
    // changes, JOB_LOCK_MS and STALLED_CHECK_MS 30 s. Concurrency: one worker holding all N jobs.
    const oursHost = await ctx.spawnHost('worker', {
      REDIS_URL: oursServer.url,
      QUEUE_PREFIX: prefix,
      PUBLIC_URL: 'https://kitsu.studio.example/kitsu-actions',
      WORKER_CONCURRENCY: String(jobs),
      LOG_LEVEL: 'info',
      KITSU_URL: zou.url,
      KITSU_BOT_TOKEN: zou.seed.botToken,
      AUTH_MODE: 'none',
      FLAMENCO_URL: flamenco.url,
    });
    const baselineHost = await ctx.spawnHost('raw-hold', {
      REDIS_URL: baselineServer.url,
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: String(jobs),
    });
    const side = (name: Side['name'], host: Host, url: string): Side => {
      const redis = connect(url);
      const queues = new JobQueues(redis, { prefix, timeoutMs: 5000, dedupWindowMs: 0 });
      ctx.defer(async () => {
        await queues.close();
        redis.disconnect();
      });
      return { name, host, redis, queues };
    };
    const ours = side('ours', oursHost, oursServer.url);
    const baseline = side('baseline', baselineHost, baselineServer.url);
    // JobQueues refuses to queue on a connection that is not ready yet.
    await Promise.all([ours.redis.ping(), baseline.redis.ping()]);

    const action: CatalogueAction | undefined = parseCatalogue(catalogueYaml, 'render-tracking').actions[0];
    if (action === undefined) throw new Error('no action in the render-tracking catalogue');
    const bigProject = zou.seed.ids.projects.big;
    if (bigProject === null) throw new Error('the fake Zou has no Big Show project');
    const lightingTasks = zou.seed.ids.tasks.big.filter((_, index) => index % 3 === 1).slice(0, jobs);
    if (lightingTasks.length < jobs) throw new Error(`only ${lightingTasks.length} lighting tasks`);
    const requestOf = (taskId: string): VerifiedRequest => ({
      actionId: action.id,
      personId: zou.seed.ids.persons.manager,
      personEmail: 'marc.dubois@studio.example',
      projectId: bigProject,
      taskIds: [taskId],
      entityType: 'shot',
      origin: {},
      mode: 'form',
      receivedAt: new Date().toISOString(),
    });
    // The same jobs on both sides, enqueued as the receiver does (JobQueues.enqueue).
    const setupStart = performance.now();
    for (const taskId of lightingTasks) await baseline.queues.enqueue(action, requestOf(taskId));
    for (const taskId of lightingTasks) await ours.queues.enqueue(action, requestOf(taskId));
    ctx.log(`${jobs} render jobs enqueued on each side; waiting until all are tracking`);

    await until(
      `${jobs} tracked jobs`,
      120_000,
      async () => {
        const o = await activeCount(ours);
        const b = await activeCount(baseline);
        for (const each of [o, b]) {
          if (each.failed > 0) throw new Error(`a render job failed: ${each.firstFailure ?? '?'}`);
        }
        const farmActive = [...flamenco.state.jobs.values()].filter((job) => job.status === 'active').length;
        const tracking = o.active === jobs ? await oursTracking(ours, jobs) : 0;
        if (b.active === jobs && farmActive === jobs && tracking === jobs) return true;
        return `baseline active ${b.active}, ours active ${o.active}, farm jobs active ${farmActive}, ours tracking ${tracking}`;
      },
      (message) => ctx.log(message),
    );
    const setupS = (performance.now() - setupStart) / 1000;
    ctx.log(
      `all tracking after ${fmt(setupS)} s; ${settleS > 0 ? `settling ${settleS} s, then ` : ''}measuring ${windowS} s`,
    );
    if (settleS > 0) await sleep(settleS * 1000);

    // The window: both sides at once, so the machine's noise falls on both.
    const zouBefore = zou.control.requests().length;
    const pollsBefore = statusPolls(flamenco);
    const before = { ours: await snapshot(ours), baseline: await snapshot(baseline) };
    const windowStart = performance.now();
    await sleep(windowS * 1000);
    const after = { ours: await snapshot(ours), baseline: await snapshot(baseline) };
    const minutes = (performance.now() - windowStart) / 60_000;
    const polls = statusPolls(flamenco) - pollsBefore;
    const zouRequests = zou.control.requests().length - zouBefore;
    const o = difference(before.ours, after.ours);
    const b = difference(before.baseline, after.baseline);

    const endOurs = await activeCount(ours);
    const endBaseline = await activeCount(baseline);
    const farmActive = [...flamenco.state.jobs.values()].filter((job) => job.status === 'active').length;
    const perJobMinute = (value: number): number => value / jobs / minutes;
    const oursCpu = perJobMinute(o.cpuMs);
    const baselineCpu = perJobMinute(b.cpuMs);
    const oursCommands = perJobMinute(o.commands);
    const baselineCommands = perJobMinute(b.commands);
    const pollsPerJobMinute = perJobMinute(polls);
    const commandsPerSecond = oursCommands / 60;
    const cpuMsPerSecond = oursCpu / 60;
    const submissions = flamenco.state.submissions.length;
    const top = (m: Measured): string =>
      Object.entries(m.byCommand)
        .slice(0, 4)
        .map(([name, calls]) => `${name} ${fmt(perJobMinute(calls))}`)
        .join(', ');
    const checks: Check[] = [
      {
        name: `< ${maxCommandsPerSecond} Redis command/s per waiting render (${commandsPerSecond.toFixed(3)}/s)`,
        ok: commandsPerSecond < maxCommandsPerSecond,
      },
      {
        name: `< ${maxCpuMsPerSecond} ms CPU/s per waiting render (${cpuMsPerSecond.toFixed(3)} ms/s)`,
        ok: cpuMsPerSecond < maxCpuMsPerSecond,
      },
      {
        name: `all ${jobs} jobs still active on both sides and on the farm (ours ${endOurs.active}, baseline ${endBaseline.active}, farm ${farmActive})`,
        ok: endOurs.active === jobs && endBaseline.active === jobs && farmActive === jobs,
      },
      {
        name: `exactly one farm job per render job (${submissions} submitted for ${jobs})`,
        ok: submissions === jobs,
      },
      { name: `the farm was polled during the window (${polls} polls)`, ok: polls > 0 },
    ];
    return {
      ...measured(oursCpu, baselineCpu, 'CPU ms/job/min'),
      checks,
      notes: `${jobs} jobs × 1 shot, ${fmt(minutes * 60)} s window${settleS > 0 ? ` after ${settleS} s` : ' (first minute of tracking)'}; Redis ${fmt(oursCommands)} vs ${fmt(baselineCommands)} cmds/job/min (ratio ${(oursCommands / baselineCommands).toFixed(2)}); ${fmt(pollsPerJobMinute)} Flamenco polls/job/min; per job ${commandsPerSecond.toFixed(2)} cmd/s, ${cpuMsPerSecond.toFixed(3)} ms CPU/s`,
      details: {
        jobs,
        shotsPerJob: 1,
        windowS: round(minutes * 60, 1),
        settleS,
        setupS: round(setupS, 1),
        pollInterval:
          'product defaults: FARM_POLL_INTERVAL_MS 5000 doubling to FARM_POLL_MAX_INTERVAL_MS 60000',
        workerConcurrency: jobs,
        ours: {
          cpuMs: round(o.cpuMs, 1),
          cpuMsPerJobMinute: round(oursCpu, 3),
          commands: o.commands,
          commandsPerJobMinute: round(oursCommands, 2),
          commandsPerJobMinuteByName: Object.fromEntries(
            Object.entries(o.byCommand).map(([name, calls]) => [name, round(perJobMinute(calls), 3)]),
          ),
          top: top(o),
        },
        baseline: {
          cpuMs: round(b.cpuMs, 1),
          cpuMsPerJobMinute: round(baselineCpu, 3),
          commands: b.commands,
          commandsPerJobMinute: round(baselineCommands, 2),
          commandsPerJobMinuteByName: Object.fromEntries(
            Object.entries(b.byCommand).map(([name, calls]) => [name, round(perJobMinute(calls), 3)]),
          ),
          top: top(b),
        },
        redisRatio: round(oursCommands / baselineCommands, 3),
        flamenco: { polls, pollsPerJobMinute: round(pollsPerJobMinute, 2), submissions },
        zouRequestsInWindow: zouRequests,
        perJobPerSecond: {
          commands: round(commandsPerSecond, 4),
          cpuMs: round(cpuMsPerSecond, 4),
        },
      },
    };
  },
};
