import { randomUUID } from 'node:crypto';
import { Job, QueueEvents } from 'bullmq';
import {
  CgruRenderOptions,
  FlamencoRenderOptions,
  JobProgress,
  JobQueues,
  createLogger,
  createRedis,
  jobDataOf,
  loadConfig,
  absoluteJobLinks,
  parseCatalogue,
  type VerifiedRequest,
  type Catalogue,
  type CatalogueAction,
  type Config,
  type JobData,
  type JobKind,
  type JobStatusView,
  type Logger,
  type RenderResult,
} from '@kitsu-actions/shared';
import { createZouClient } from '@kitsu-actions/zou';
import {
  catalogueFixture,
  startFakeAfanasy,
  startFakeFlamenco,
  startFakeZou,
  type FakeAfanasy,
  type FakeFlamenco,
  type FakeZou,
} from '@kitsu-actions/testing';
import type { Redis } from 'ioredis';
import { createFarms, farmJobFields, type FarmRuntime } from '../src/farms/index.ts';
import { handlers } from '../src/handlers/index.ts';
import { renderCgruHandler } from '../src/handlers/render-cgru/index.ts';
import { renderFlamencoHandler } from '../src/handlers/render-flamenco/index.ts';
import { isKindJob, type HandlerContext, type KindJob } from '../src/handlers/types.ts';
import type { JobStore } from '../src/job-store.ts';
import { startWorkers } from '../src/workers.ts';

/** The render actions the tests run (small chunks, so the fakes finish in a fraction of a second). */
export const renderCatalogue = catalogueFixture('render');

export interface RenderWorld {
  zou: FakeZou;
  flamenco: FakeFlamenco;
  afanasy: FakeAfanasy;
  prefix: string;
  config: Config;
  /** The environment a worker process of this world needs. */
  env: Record<string, string>;
  catalogue: Catalogue;
  queues: JobQueues;
  connection: Redis;
  /** Lighting tasks of E01/SQ010/SH010, E01/SQ010/SH020 and E01/SQ020/SH010 (frames kept as strings). */
  lightingTasks: string[];
  /** Queues a job as the receiver would (the manager asked for it). */
  enqueue(actionId: string, taskIds: string[]): Promise<string>;
  /** The data such a job carries, for a handler run directly (no queue, no worker). */
  jobData(actionId: string, taskIds: string[]): JobData;
  view(jobId: string): Promise<JobStatusView | undefined>;
  /** Waits for the job's final event (not a timer), then returns its status view. */
  finished(jobId: string, timeoutMs?: number): Promise<JobStatusView>;
  /** Starts the farms' clocks (a `tick: false` world, or after `stopFarms`): simulated time moves with real time. */
  runFarms(): void;
  /** Stops the farms' clocks: farm jobs stay as they are until `runFarms` or the fakes' `control.advance`. */
  stopFarms(): void;
  /** Progress events of a job so far, in order. */
  progress(jobId: string): JobProgress[];
  /** Polls until `check` holds (bounded by a deadline), for state the fakes hold. */
  until(check: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRenderWorld(
  redisUrl: string,
  options: {
    env?: Record<string, string>;
    /** False: the farms' clocks stand still until the test moves them (`runFarms`). Default true. */
    tick?: boolean;
  } = {},
): Promise<RenderWorld> {
  const overrides = options.env ?? {};
  const zou = await startFakeZou();
  // The world drives the farms' clocks (never their own `tickMs`), so a test can stop them.
  const flamenco = await startFakeFlamenco({ startDelayMs: 100, taskMs: 150, transitionMs: 100 });
  const afanasy = await startFakeAfanasy({ startDelayMs: 100, taskMs: 150 });
  let clock: NodeJS.Timeout | undefined;
  const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: 'https://kitsu.studio.example/kitsu-actions',
    KITSU_URL: zou.url,
    KITSU_BOT_TOKEN: zou.seed.botToken,
    AUTH_MODE: 'none',
    FLAMENCO_URL: flamenco.url,
    AFANASY_HOST: afanasy.host,
    AFANASY_PORT: String(afanasy.port),
    AFANASY_JOB_URL: 'http://cgru.studio.example/#{id}-{serial}',
    FARM_POLL_INTERVAL_MS: '50',
    FARM_POLL_MAX_INTERVAL_MS: '200',
    FARM_RETRIES: '1',
    FARM_TIMEOUT_MS: '3000',
    FARM_UNREACHABLE_TIMEOUT_S: '1',
    JOB_LOCK_MS: '1000',
    STALLED_CHECK_MS: '1000',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
  const config = loadConfig(env);
  const catalogue = parseCatalogue(renderCatalogue.yaml, renderCatalogue.file);
  const connection = createRedis(redisUrl, 'producer', 2000);
  connection.on('error', () => undefined);
  await new Promise<void>((resolve) => connection.once('ready', resolve));
  const queues = new JobQueues(connection, { prefix, timeoutMs: 2000, dedupWindowMs: 0 });
  const spf = zou.seed.ids.tasks.spf;
  // Four tasks per shot (layout, animation, lighting, compositing): lighting is the third.
  const lightingTasks = [0, 1, 4].map((shot) => spf[shot * 4 + 2] ?? '');
  const events = new Map<string, { events: QueueEvents; connection: Redis }>();
  const eventsOf = async (queue: string): Promise<QueueEvents> => {
    let found = events.get(queue);
    if (!found) {
      const eventsConnection = createRedis(redisUrl, 'consumer');
      found = {
        events: new QueueEvents(queue, { connection: eventsConnection, prefix }),
        connection: eventsConnection,
      };
      events.set(queue, found);
      await found.events.waitUntilReady();
    }
    return found.events;
  };
  /** A click on the action by the lighting artist, as the receiver makes it. */
  const requestOf = (actionId: string, taskIds: string[]): [CatalogueAction, VerifiedRequest] => {
    const action = catalogue.actions.find((item) => item.id === actionId);
    if (action === undefined) throw new Error(`no action ${actionId}`);
    const request: VerifiedRequest = {
      actionId,
      personId: zou.seed.ids.persons.lighter,
      personEmail: 'lena.becker@studio.example',
      projectId: zou.seed.ids.projects.spf,
      taskIds,
      entityType: 'shot',
      origin: {},
      mode: 'form',
      receivedAt: new Date().toISOString(),
    };
    return [action, request];
  };
  const progress = new Map<string, JobProgress[]>();
  (await eventsOf('render')).on('progress', ({ jobId, data }) => {
    const parsed = JobProgress.safeParse(data);
    if (parsed.success) progress.set(jobId, [...(progress.get(jobId) ?? []), parsed.data]);
  });

  const world: RenderWorld = {
    zou,
    flamenco,
    afanasy,
    prefix,
    config,
    env,
    catalogue,
    queues,
    connection,
    lightingTasks,
    async enqueue(actionId, taskIds) {
      return (await queues.enqueue(...requestOf(actionId, taskIds))).id;
    },
    jobData: (actionId, taskIds) => jobDataOf(...requestOf(actionId, taskIds)),
    progress: (jobId) => progress.get(jobId) ?? [],
    runFarms() {
      clock ??= setInterval(() => {
        flamenco.control.advance(25);
        afanasy.control.advance(25);
      }, 25);
    },
    stopFarms() {
      clearInterval(clock);
      clock = undefined;
    },
    async view(jobId) {
      return (await queues.find(jobId))?.view;
    },
    async finished(jobId, timeoutMs = 20_000) {
      const queue = queues.queue('render');
      const job = await Job.fromId(queue, jobId);
      if (!job) throw new Error(`no job ${jobId}`);
      // A failure is an outcome too: the view says which.
      await job.waitUntilFinished(await eventsOf('render'), timeoutMs).catch(() => undefined);
      const view = await world.view(jobId);
      if (view === undefined) throw new Error(`job ${jobId} is gone`);
      return view;
    },
    async until(check, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      world.stopFarms();
      await Promise.all([...events.values()].map((item) => item.events.close()));
      for (const item of events.values()) item.connection.disconnect();
      await queues.close();
      connection.disconnect();
      await Promise.all([zou.close(), flamenco.close(), afanasy.close()]);
    },
  };
  if (options.tick !== false) world.runFarms();
  return world;
}

/**
 * A render world with this process's workers on its queues, for the tests that enqueue jobs as the
 * receiver does; `close` stops the workers, then the world.
 */
export async function startRenderWorldAndWorkers(
  redisUrl: string,
  name: string,
): Promise<{ world: RenderWorld; close: () => Promise<void> }> {
  const world = await startRenderWorld(redisUrl);
  const workers = await startWorkers({
    config: world.config,
    handlers,
    logger: createLogger({ level: 'silent', name }),
    zou: createZouClient({ baseUrl: world.zou.url, auth: { token: world.zou.seed.botToken } }),
  });
  return {
    world,
    close: async () => {
      await workers.close();
      await world.close();
    },
  };
}

/** Runs `step` with the world's farm clocks stopped: farm jobs move only when the test advances them. */
export async function withFarmsStopped<T>(world: RenderWorld, step: () => Promise<T>): Promise<T> {
  world.stopFarms();
  try {
    return await step();
  } finally {
    world.runFarms();
  }
}

/** What a run failed with; a run that succeeds fails the test. */
export function failureOf(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => {
      throw new Error('the run succeeded');
    },
    (failure: unknown) => failure,
  );
}

/** The submissions of our job `jobId` the fake Flamenco recorded, in the order they came. */
export function flamencoSubmissions(world: RenderWorld, jobId: string) {
  return world.flamenco.state.submissions.filter(
    (submission) =>
      (submission.body['metadata'] as Record<string, string>)[farmJobFields.bullJobId] === jobId,
  );
}

function kindJob<K extends JobKind>(job: Job<unknown, unknown, string>, kind: K): KindJob<K> {
  if (!isKindJob(job, kind)) throw new Error(`not a ${kind} job`);
  return job;
}

/** How `runRenderHandler` runs the handler, beyond its data and store. */
export interface RenderHandlerOptions {
  /** Hears each progress the handler reports. */
  onProgress?: (progress: JobProgress) => void;
  /** The handler's logger (a recording one); silent by default. */
  log?: Logger;
  /** The job's cancel signal, as the processor aborts it; never aborted by default. */
  signal?: AbortSignal;
  /** Replaces parts of the world's farm runtime (its intervals, its sleep between polls, a farm). */
  farms?: Partial<FarmRuntime>;
  /** A worker without Kitsu configured (no KITSU_URL): the handler gets no Zou client. */
  withoutKitsu?: boolean;
}

/**
 * Runs a render handler of `world` directly (no queue, no worker) on `data` as the job `jobId` (undefined:
 * a job without an id), with `store`.
 */
export function runRenderHandler(
  world: RenderWorld,
  farm: 'flamenco' | 'afanasy',
  data: JobData,
  jobId: string | undefined,
  store: JobStore,
  options: RenderHandlerOptions = {},
): Promise<RenderResult> {
  const { onProgress = () => undefined } = options;
  const log = options.log ?? createLogger({ level: 'silent', name: 'render-test' });
  const job = new Job(world.queues.queue('render'), data.action.kind, data, {}, jobId);
  const context: Omit<HandlerContext<'render.flamenco'>, 'options' | 'job'> = {
    data,
    log,
    signal: options.signal ?? new AbortController().signal,
    publicUrl: 'https://kitsu.studio.example',
    links: absoluteJobLinks('https://kitsu.studio.example'),
    resultPageBytes: world.config.storage.resultPageBytes,
    progress: (percent, message, links) => {
      onProgress({ percent, message, ...(links === undefined ? {} : { links }) });
      return Promise.resolve();
    },
    zou:
      options.withoutKitsu === true
        ? undefined
        : createZouClient({ baseUrl: world.zou.url, auth: { token: world.zou.seed.botToken } }),
    farms: { ...createFarms(world.config, log), ...options.farms },
    store,
  };
  return farm === 'flamenco'
    ? renderFlamencoHandler({
        ...context,
        job: kindJob(job, 'render.flamenco'),
        options: FlamencoRenderOptions.parse(data.action.options),
      })
    : renderCgruHandler({
        ...context,
        job: kindJob(job, 'render.cgru'),
        options: CgruRenderOptions.parse(data.action.options),
      });
}
