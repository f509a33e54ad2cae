/**
 * A child process of the bench: one server or worker, so the load generator (autocannon, in the parent)
 * never shares an event loop with what it measures. Started by hosts.ts as
 * `node --import tsx bench/lib/host.ts <role>`; configured by the environment; talks over IPC.
 *
 * Roles:
 * - receiver: the real receiver (buildApp), real Redis, the catalogue in BENCH_CATALOGUE.
 * - bare: Koa (+ koa-body) answering like the receiver without doing its work (BENCH_BARE picks the answer).
 * - worker: our real worker (startWorkers with the real handlers), configured like apps/worker/src/main.ts.
 * - worker-noop: the same worker machinery with a debug handler that does nothing (no progress, empty page).
 * - raw-worker: a plain BullMQ Worker with a no-op processor.
 * - raw-hold: a plain BullMQ Worker on the `render` queue whose processor only awaits until the host
 *   stops: its jobs stay active, and all it costs is BullMQ's lock renewals and stalled checks.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import {
  createLogger,
  createRedis,
  JobQueues,
  loadConfig,
  parseCatalogue,
  type QueueName,
} from '@kitsu-actions/shared';
import {
  buildApp,
  createAccess,
  createRateLimiter,
  handlers,
  receiverZouClient,
  startWorkers,
  workerZouClient,
  type HandlerMap,
} from './apps.ts';
import { isParentMessage, type ChildMessage, type HostRole } from './messages.ts';

interface Started {
  port: number;
  stop(): Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`host: ${name} is not set`);
  return value;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** The receiver exactly as main.ts builds it, except that the port is chosen by the OS. */
async function receiver(): Promise<Started> {
  const config = loadConfig(process.env);
  const catalogue = parseCatalogue(env('BENCH_CATALOGUE'), 'bench catalogue');
  const logger = createLogger({ level: config.logLevel, name: 'receiver' });
  const connection = createRedis(config.redis.url, 'producer', config.redis.timeoutMs);
  connection.on('error', () => undefined);
  await once(connection, 'ready');
  const queues = new JobQueues(connection, {
    prefix: config.queuePrefix,
    timeoutMs: config.redis.timeoutMs,
    dedupWindowMs: config.requests.dedupWindowMs,
  });
  const server = createServer();
  const port = await listen(server);
  config.publicUrl = `http://127.0.0.1:${port}`;
  // AUTH_MODE as configured (none here: no KITSU_URL), built the way main.ts builds it.
  const access = createAccess(config, receiverZouClient(config, logger));
  const rateLimiter = createRateLimiter(connection, config, logger);
  const handle = buildApp({ config, catalogue, queues, logger, rateLimiter, ...access }).callback();
  server.on('request', (request, response) => void handle(request, response));
  return {
    port,
    async stop() {
      await closeServer(server);
      await queues.close();
      connection.disconnect();
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The least a Koa app can do to give the same answer as the receiver. */
async function bare(): Promise<Started> {
  const variant = env('BENCH_BARE');
  const app = new Koa();
  const server = createServer();
  const port = await listen(server);
  const publicUrl = `http://127.0.0.1:${port}`;
  if (variant === 'fixed-json') {
    const fixed: unknown = JSON.parse(env('BENCH_FIXED_JSON'));
    app.use((ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = fixed;
    });
  } else if (variant === 'json-202' || variant === 'form-303') {
    app.use(koaBody());
    app.use((ctx) => {
      if (!isRecord((ctx.request as { body?: unknown }).body)) {
        ctx.status = 400;
        return;
      }
      const jobId = `pages-${randomUUID()}`;
      const statusUrl = `${publicUrl}/jobs/${jobId}`;
      if (variant === 'form-303') {
        ctx.redirect(statusUrl);
        ctx.status = 303;
        return;
      }
      ctx.status = 202;
      ctx.set('Location', statusUrl);
      ctx.set('Retry-After', '2');
      ctx.body = { jobId, state: 'queued', statusUrl, deduplicated: false };
    });
  } else {
    throw new Error(`host: unknown BENCH_BARE ${variant}`);
  }
  const handle = app.callback();
  server.on('request', (request, response) => void handle(request, response));
  return { port, stop: () => closeServer(server) };
}

/** Counts finished jobs and answers `watch` messages. */
function counter(): { completed(): void; failed(error: Error): void; watch(target: number): void } {
  let completed = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  let target = Number.POSITIVE_INFINITY;
  const check = (): void => {
    if (completed + failed < target) return;
    target = Number.POSITIVE_INFINITY;
    send({ type: 'reached', completed, failed, firstFailure });
  };
  return {
    completed() {
      completed += 1;
      check();
    },
    failed(error) {
      failed += 1;
      firstFailure ??= error.message;
      check();
    },
    watch(next) {
      target = next;
      check();
    },
  };
}

const count = counter();

/** Our worker as apps/worker/src/main.ts runs it: real handlers, registry, retention, logger. */
async function worker(handlerMap: HandlerMap = handlers): Promise<Started> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  // As main.ts: without KITSU_URL/KITSU_BOT_TOKEN (only render-tracking sets them, to a fake Zou) pages are
  // built without Kitsu data; FLAMENCO_URL (render-tracking: a fake Manager) gives the render kinds a farm.
  const zou = workerZouClient(config, logger);
  const set = await startWorkers({ config, handlers: handlerMap, logger, zou });
  for (const each of set.workers) {
    each.on('completed', () => count.completed());
    each.on('failed', (_job, error) => count.failed(error));
  }
  return { port: 0, stop: () => set.close() };
}

/** A plain BullMQ Worker: its own ioredis connection, default options, finished jobs counted. */
async function plainWorker(queue: QueueName, processor: () => Promise<unknown>): Promise<Started> {
  const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
  const each = new Worker(queue, processor, {
    connection,
    prefix: env('QUEUE_PREFIX'),
    concurrency: Number(env('WORKER_CONCURRENCY')),
  });
  each.on('completed', () => count.completed());
  each.on('failed', (_job, error) => count.failed(error));
  each.on('error', () => undefined);
  await each.waitUntilReady();
  return {
    port: 0,
    async stop() {
      await each.close();
      connection.disconnect();
    },
  };
}

/** BullMQ with nothing of ours: plain ioredis connection, no-op processor, default options. */
function rawWorker(): Promise<Started> {
  return plainWorker('pages', () => Promise.resolve());
}

/**
 * BullMQ with nothing of ours holding render jobs: default options (lockDuration and stalledInterval 30 s,
 * as JOB_LOCK_MS and STALLED_CHECK_MS default), a processor that awaits the stop and does nothing else.
 */
async function rawHold(): Promise<Started> {
  const release = new AbortController();
  const released = new Promise<void>((resolve) =>
    release.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  const started = await plainWorker('render', () => released);
  return {
    port: 0,
    async stop() {
      release.abort();
      await started.stop();
    },
  };
}

/** Everything of our worker path except the handler's own work. */
const noopHandlers: HandlerMap = {
  ...handlers,
  debug: () => Promise.resolve({ type: 'page', title: 'no-op', summary: 'no-op', links: [], html: '' }),
};

const roles: Record<HostRole, () => Promise<Started>> = {
  receiver,
  bare,
  worker: () => worker(),
  'worker-noop': () => worker(noopHandlers),
  'raw-worker': rawWorker,
  'raw-hold': rawHold,
};

async function main(): Promise<void> {
  const role = process.argv[2] ?? '';
  const start = Object.hasOwn(roles, role) ? roles[role as HostRole] : undefined;
  if (!start) throw new Error(`host: unknown role "${role}"`);
  const state: { started?: Started; stopping: boolean } = { stopping: false };
  // Listening before the start, so a stop while starting (e.g. Redis never answers) ends the process.
  process.on('message', (message: unknown) => {
    if (!isParentMessage(message)) return;
    if (message.type === 'watch') {
      count.watch(message.target);
      return;
    }
    if (message.type === 'usage') {
      const usage = process.cpuUsage();
      send({ type: 'usage', userUs: usage.user, systemUs: usage.system });
      return;
    }
    if (state.stopping) return;
    state.stopping = true;
    if (!state.started) process.exit(0);
    state.started.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`host ${role}: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
  // The parent is gone: nothing will ever stop us.
  process.on('disconnect', () => process.exit(0));
  state.started = await start();
  send({ type: 'ready', port: state.started.port });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  send({ type: 'fatal', message });
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
