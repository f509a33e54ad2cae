import { Worker } from 'bullmq';
import {
  QueueName,
  abortReasonOf,
  cancelChannel,
  createRedis,
  jobCapabilities,
  jobKinds,
  parseCancelRequest,
  queuePolicies,
  queuesOfKinds,
  type Config,
  type JobKind,
  type Logger,
} from '@kitsu-actions/shared';
import { botZouClient, type ZouClient } from '@kitsu-actions/zou';
import { createFarms, type FarmRuntime } from './farms/index.ts';
import type { HandlerMap } from './handlers/types.ts';
import { redisJobStore } from './job-store.ts';
import { handBackReason } from './cancel.ts';
import { createProcessor } from './processor.ts';

export interface WorkerSet {
  workers: Worker[];
  close(): Promise<void>;
}

/** Throws when a queue of the registry would have no worker, or a handler is missing at run time. */
export function checkRegistry(handlers: HandlerMap, queues: readonly QueueName[]): void {
  const kinds = Object.keys(jobKinds) as JobKind[];
  const missing = kinds.filter((kind) => typeof handlers[kind] !== 'function');
  if (missing.length > 0) throw new Error(`No handler for job kinds: ${missing.join(', ')}`);
  const uncovered = queuesOfKinds(kinds).filter((queue) => !queues.includes(queue));
  if (uncovered.length > 0) throw new Error(`No worker would serve queues: ${uncovered.join(', ')}`);
}

/** The worker's Zou client: the bot, when KITSU_URL and KITSU_BOT_TOKEN are set. Contacts nothing yet. */
export function workerZouClient(config: Pick<Config, 'kitsu'>, logger: Logger): ZouClient | undefined {
  return botZouClient(config.kitsu, logger);
}

/** One BullMQ Worker per queue, each with its own connection that waits for Redis when it is gone. */
export async function startWorkers(options: {
  config: Pick<Config, 'redis' | 'queuePrefix' | 'worker' | 'retention' | 'publicUrl' | 'farms' | 'storage'> &
    // AUTH_MODE=token with ACTIONS_TOKEN: the status links left in Kitsu carry the job's capability.
    Partial<Pick<Config, 'auth'>>;
  handlers: HandlerMap;
  logger: Logger;
  queues?: readonly QueueName[];
  /** The bot's Zou client (workerZouClient); without it, handlers work without Kitsu data. */
  zou?: ZouClient | undefined;
  /** Default: the farms of `config` (createFarms). */
  farms?: FarmRuntime;
}): Promise<WorkerSet> {
  const { config, handlers, logger } = options;
  const queues = options.queues ?? QueueName.options;
  checkRegistry(handlers, queues);
  const concurrencyOf = (queue: QueueName): number =>
    config.worker.concurrency ?? queuePolicies[queue].defaultConcurrency;
  // Handlers' own records and cancel flags; cancels are also pushed on a channel (see cancel.ts in shared).
  const storeConnection = createRedis(config.redis.url, 'consumer');
  const subscriber = createRedis(config.redis.url, 'consumer');
  const stopping = new AbortController();
  const processor = createProcessor({
    stopping: stopping.signal,
    handlers,
    logger,
    publicUrl: config.publicUrl,
    ...(config.auth?.mode === 'token' && config.auth.actionsToken !== undefined
      ? { capabilities: jobCapabilities(config.auth.actionsToken) }
      : {}),
    resultPageBytes: config.storage.resultPageBytes,
    zou: options.zou,
    farms: options.farms ?? createFarms(config, logger),
    store: (jobId) =>
      redisJobStore(storeConnection, {
        prefix: config.queuePrefix,
        jobId,
        keepSeconds: config.retention.failed.age,
      }),
  });
  const workers = queues.map((queue) => {
    const connection = createRedis(config.redis.url, 'consumer');
    const worker = new Worker(queue, processor, {
      connection,
      prefix: config.queuePrefix,
      concurrency: concurrencyOf(queue),
      removeOnComplete: config.retention.completed,
      removeOnFail: config.retention.failed,
      lockDuration: config.worker.lockMs,
      stalledInterval: config.worker.stalledCheckMs,
      maxStalledCount: queuePolicies[queue].maxStalls,
    });
    const log = logger.child({ queue });
    worker.on('failed', (job, error) =>
      log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: error }, 'job failed'),
    );
    worker.on('error', (error) => log.error({ err: error }, 'worker error'));
    worker.on('stalled', (jobId) => log.warn({ jobId }, 'job stalled; it will be picked up again'));
    return { worker, connection };
  });
  subscriber.on('message', (_channel: string, text: string) => {
    const request = parseCancelRequest(text);
    if (request === undefined) return;
    // Only the worker holding the job has it tracked; the others answer false.
    const held = workers.some(({ worker }) => worker.cancelJob(request.jobId, abortReasonOf(request)));
    if (held) logger.info({ jobId: request.jobId, by: request.by }, 'cancel requested: aborting the job');
  });
  subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'cancel channel error'));
  await subscriber.subscribe(cancelChannel(config.queuePrefix));
  await Promise.all(workers.map(({ worker }) => worker.waitUntilReady()));
  logger.info(
    { queues, concurrency: Object.fromEntries(queues.map((queue) => [queue, concurrencyOf(queue)])) },
    'workers ready',
  );
  let closing: Promise<void> | undefined;
  return {
    workers: workers.map(({ worker }) => worker),
    close() {
      // Idempotent: a second call waits for the first. In-flight jobs finish before close resolves.
      closing ??= (async () => {
        subscriber.disconnect();
        const closed = workers.map(({ worker }) => worker.close());
        // Long render jobs are handed back to the queue rather than waited for (see handBackReason).
        stopping.abort(handBackReason);
        await Promise.all(closed);
        for (const { connection } of workers) connection.disconnect();
        storeConnection.disconnect();
      })();
      return closing;
    },
  };
}
