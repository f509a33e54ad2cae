import { randomUUID } from 'node:crypto';
import { Job, Queue, WaitingError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  JobData,
  createRedis,
  jobDataOf,
  loadConfig,
  parseCatalogue,
  type Config,
} from '@kitsu-actions/shared';
import { catalogueFixture } from '@kitsu-actions/testing';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { handBackReason } from './cancel.ts';
import { createFarms } from './farms/index.ts';
import { handlers } from './handlers/index.ts';
import type { Handler } from './handlers/types.ts';
import { createProcessor } from './processor.ts';
import { startWorkers } from './workers.ts';
import { memoryJobStore } from '../test/memory-store.ts';

// A stopping worker hands its render jobs back to the queue rather than waiting hours for them: no
// attempt spent, nothing reported, and a job it picks up while stopping goes straight back.

/** What the workers logged, as JSON. */
const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
);
let config: Config;
let connection: Redis;
let queue: Queue;

/** How many times each job's render handler started. */
const starts = new Map<string, number>();
/** Called with the job's id when its render handler starts. */
let onStart: (jobId: string) => void = () => undefined;
// Tracks its farm jobs until its signal is aborted.
const tracks: Handler<'render.flamenco'> = ({ job, signal }) =>
  new Promise((_resolve, reject) => {
    const id = job.id ?? '';
    starts.set(id, (starts.get(id) ?? 0) + 1);
    if (signal.aborted) reject(new Error('aborted before it started'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    onStart(id);
  });

beforeAll(() => {
  const prefix = `{kahb-${randomUUID().slice(0, 8)}}`;
  config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix });
  connection = createRedis(config.redis.url, 'consumer');
  queue = new Queue('render', { connection, prefix });
});

afterAll(async () => {
  await queue.close();
  connection.disconnect();
});

/** Queues a Flamenco render of one shot that comments in Kitsu when it ends, with one attempt. */
async function queueRender(): Promise<string> {
  const fixture = catalogueFixture('render');
  const action = parseCatalogue(fixture.yaml, fixture.file).actions.find(
    (item) => item.id === 'render-flamenco',
  );
  if (action === undefined) throw new Error('no render-flamenco action in the test catalogue');
  const data = jobDataOf(
    { ...action, report: { comment: true } },
    {
      actionId: action.id,
      personId: randomUUID(),
      taskIds: [randomUUID()],
      entityType: 'shot',
      origin: {},
      mode: 'form',
      receivedAt: new Date().toISOString(),
    },
  );
  const id = `render-${randomUUID()}`;
  await queue.add('render.flamenco', data, { jobId: id, attempts: 1 });
  return id;
}

async function jobOf(id: string): Promise<Job> {
  const job = await Job.fromId(queue, id);
  if (job === undefined) throw new Error(`job ${id} vanished`);
  return job;
}

describe('a stopping worker', () => {
  it('hands a running render job back to the queue: no attempt spent, nothing reported', async () => {
    const workers = await startWorkers({
      config,
      handlers: { ...handlers, 'render.flamenco': tracks },
      logger,
    });
    const started = new Promise<string>((resolve) => {
      onStart = resolve;
    });
    const id = await queueRender();
    expect(await started).toBe(id);
    await workers.close();
    const job = await jobOf(id);
    expect(await job.getState()).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
    expect(job.failedReason).toBeUndefined();
    expect(JobData.parse(job.data).report).toBeUndefined();
    expect(starts.get(id)).toBe(1);
    expect(
      lines.filter(
        (line) => line['jobId'] === id && line['msg'] === 'worker stopping: job handed back to the queue',
      ),
    ).toHaveLength(1);
    await job.remove();
  });

  it('sends a render job it picks up while stopping straight back, without running it', async () => {
    const id = await queueRender();
    // A worker that fetches by hand: the job is locked with our token, as a worker's fetch leaves it.
    const fetcher = new Worker('render', null, {
      connection: createRedis(config.redis.url, 'consumer'),
      prefix: config.queuePrefix,
    });
    try {
      const token = randomUUID();
      const job: Job | undefined = await fetcher.getNextJob(token);
      expect(job?.id).toBe(id);
      if (job === undefined) return;
      const process = createProcessor({
        handlers: { ...handlers, 'render.flamenco': tracks },
        logger,
        publicUrl: config.publicUrl,
        farms: createFarms(config, logger),
        store: () => ({ ...memoryJobStore(), recordForStatus: () => Promise.resolve() }),
        stopping: AbortSignal.abort(handBackReason),
        resultPageBytes: config.storage.resultPageBytes,
      });
      await expect(process(job, token)).rejects.toBeInstanceOf(WaitingError);
      const back = await jobOf(id);
      expect(await back.getState()).toBe('waiting');
      expect(back.attemptsMade).toBe(0);
      expect(starts.get(id)).toBeUndefined();
      await back.remove();
    } finally {
      await fetcher.close();
    }
  });
});
