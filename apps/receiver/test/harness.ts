import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  createLogger,
  createRedis,
  JobQueues,
  loadConfig,
  parseCatalogue,
  queueOfJobId,
  QueueName,
  type Catalogue,
  type Config,
  type Logger,
} from '@kitsu-actions/shared';
import {
  spawnService,
  startFakeZou,
  type FakeZou,
  type FakeZouOptions,
  type ServiceProcess,
} from '@kitsu-actions/testing';
import { Job, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { buildApp } from '../src/app.ts';
import { createAccess, receiverZouClient } from '../src/deps.ts';
import { createHttpServer } from '../src/http-server.ts';
import { createRateLimiter } from '../src/rate-limit.ts';

/**
 * The catalogue the tests use: the fixtures name `debug` and `render-flamenco`. Here `render-flamenco` is
 * a debug action in AJAX mode: these tests are about the receiver's path, which is the same for every
 * kind, and need no farm (render.test.ts runs the real render kinds).
 */
export const testCatalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug }
  - { id: render-flamenco, name: Render on Flamenco, kind: debug, entityType: shot, ajax: true }
`;

export const kitsuOrigin = 'https://kitsu.studio.example';

/** Ids no Kitsu knows, for receivers that never ask one (AUTH_MODE none or token). */
export const offlinePerson = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
export const offlineTask = '95c171e1-dfff-498f-93e3-548a739e3202';

export interface ReceiverHarness {
  baseUrl: string;
  config: Config;
  prefix: string;
  queues: JobQueues;
  connection: Redis;
  catalogue: Catalogue;
  /** Jobs in every state across all queues of this harness's prefix. */
  jobCount(): Promise<number>;
  /**
   * Waits for the job's final event (not a timer), then returns its JSON status, read with `headers`
   * (the session cookie or bearer of someone who may read it, under zou-session).
   */
  waitForJob(
    jobId: string,
    options?: { timeoutMs?: number; headers?: Record<string, string> },
  ): Promise<Record<string, unknown>>;
  startWorker(): ServiceProcess;
  close(): Promise<void>;
}

/** A real receiver on a random port against real Redis, with a queue prefix of its own. */
export async function startReceiver(options: {
  redisUrl: string;
  env?: Record<string, string>;
  catalogueYaml?: string;
  /** Another receiver's prefix: two replicas sharing one Redis key space. */
  prefix?: string;
  /** The receiver's logger (a recording one, for tests of its log lines); silent otherwise. */
  logger?: Logger;
}): Promise<ReceiverHarness> {
  const prefix = options.prefix ?? `{kat-${randomUUID().slice(0, 8)}}`;
  const env = {
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: prefix,
    KITSU_ORIGINS: kitsuOrigin,
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'none',
    ...options.env,
  };
  const config = loadConfig(env);
  const catalogue = parseCatalogue(options.catalogueYaml ?? testCatalogueYaml, 'test catalogue');
  const connection = createRedis(config.redis.url, 'producer', config.redis.timeoutMs);
  connection.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    connection.once('ready', resolve);
    connection.once('end', () => reject(new Error('redis connection ended')));
  });
  const queues = new JobQueues(connection, {
    prefix,
    timeoutMs: config.redis.timeoutMs,
    dedupWindowMs: config.requests.dedupWindowMs,
  });
  const logger = options.logger ?? createLogger({ level: 'silent', name: 'receiver-test' });
  // Listen first so PUBLIC_URL (used in every link and Location) can name this server's port.
  const server = createHttpServer(config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A PUBLIC_URL given stays (a proxy in front, e.g. under /kitsu-actions); else this server's address.
  if (options.env?.['PUBLIC_URL'] === undefined) config.publicUrl = baseUrl;
  const access = createAccess(config, receiverZouClient(config, logger));
  const rateLimiter = createRateLimiter(connection, config, logger);
  const handle = buildApp({ config, catalogue, queues, logger, rateLimiter, ...access }).callback();
  server.on('request', (request, response) => void handle(request, response));
  const workers: ServiceProcess[] = [];
  return {
    baseUrl,
    config,
    prefix,
    queues,
    connection,
    catalogue,
    async jobCount() {
      let total = 0;
      for (const name of QueueName.options) {
        const counts = await queues.queue(name).getJobCounts();
        total += Object.values(counts).reduce((sum, count) => sum + count, 0);
      }
      return total;
    },
    async waitForJob(jobId, options = {}) {
      const timeoutMs = options.timeoutMs ?? 20_000;
      const queueName = queueOfJobId(jobId);
      if (!queueName) throw new Error(`not a job id: ${jobId}`);
      const eventsConnection = createRedis(config.redis.url, 'consumer');
      const events = new QueueEvents(queueName, { connection: eventsConnection, prefix });
      try {
        await events.waitUntilReady();
        const job = await Job.fromId(queues.queue(queueName), jobId);
        if (!job) throw new Error(`job ${jobId} does not exist`);
        // The outcome is read from the status endpoint below; a failure is an outcome too.
        await job.waitUntilFinished(events, timeoutMs).catch(() => undefined);
      } finally {
        await events.close();
        eventsConnection.disconnect();
      }
      const response = await fetch(`${baseUrl}/jobs/${jobId}`, {
        headers: { Accept: 'application/json', ...options.headers },
      });
      return (await response.json()) as Record<string, unknown>;
    },
    startWorker() {
      const worker = spawnService('apps/worker/src/main.ts', {
        REDIS_URL: options.redisUrl,
        QUEUE_PREFIX: prefix,
        PUBLIC_URL: baseUrl,
        LOG_LEVEL: 'info',
        ...options.env,
      });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.stop()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queues.close();
      connection.disconnect();
    },
  };
}

/**
 * A fake Zou of its own and a real receiver checking Kitsu sessions against it (AUTH_MODE=zou-session,
 * dedup off), so every call that Zou logs is this receiver's or its worker's. Closing the harness stops both.
 */
export async function startZouReceiver(options: {
  redisUrl: string;
  zou?: FakeZouOptions;
  env?: Record<string, string>;
  /** A catalogue that names the seed's ids (e.g. a project in `allow`). */
  catalogueYaml?: string | ((seed: FakeZou['seed']) => string);
  logger?: Logger;
}): Promise<{ zou: FakeZou; harness: ReceiverHarness }> {
  const zou = await startFakeZou(options.zou);
  const catalogueYaml =
    typeof options.catalogueYaml === 'function' ? options.catalogueYaml(zou.seed) : options.catalogueYaml;
  let receiver: ReceiverHarness;
  try {
    receiver = await startReceiver({
      redisUrl: options.redisUrl,
      ...(catalogueYaml === undefined ? {} : { catalogueYaml }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      env: {
        AUTH_MODE: 'zou-session',
        KITSU_URL: zou.url,
        KITSU_BOT_TOKEN: zou.seed.botToken,
        DEDUP_WINDOW_MS: '0',
        ...options.env,
      },
    });
  } catch (error) {
    await zou.close();
    throw error;
  }
  const harness: ReceiverHarness = {
    ...receiver,
    async close() {
      await receiver.close();
      await zou.close();
    },
  };
  return { zou, harness };
}

/** A real receiver in AUTH_MODE=token (dedup off): every request must carry `secret`. */
export function startTokenReceiver(options: {
  redisUrl: string;
  secret: string;
  catalogueYaml?: string;
}): Promise<ReceiverHarness> {
  return startReceiver({
    redisUrl: options.redisUrl,
    ...(options.catalogueYaml === undefined ? {} : { catalogueYaml: options.catalogueYaml }),
    env: { AUTH_MODE: 'token', ACTIONS_TOKEN: options.secret, DEDUP_WINDOW_MS: '0' },
  });
}

/**
 * Runs `actionId` as Kitsu's form does, from Kitsu's origin with `headers` (a session cookie), and
 * returns the id of the job its 202 names. Fails the test on any other answer.
 */
export async function submitAction(
  harness: Pick<ReceiverHarness, 'baseUrl'>,
  actionId: string,
  options: { headers: Record<string, string>; fields: Record<string, string> },
): Promise<string> {
  const sent = await fetch(`${harness.baseUrl}/actions/${actionId}`, {
    method: 'POST',
    headers: {
      ...options.headers,
      Origin: kitsuOrigin,
      Accept: 'application/json',
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(options.fields).toString(),
  });
  if (sent.status !== 202) throw new Error(`${actionId} answered ${sent.status}: ${await sent.text()}`);
  return ((await sent.json()) as { jobId: string }).jobId;
}
