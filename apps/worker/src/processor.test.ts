import { randomUUID } from 'node:crypto';
import { Job, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  JobQueues,
  cancelChannel,
  createLogger,
  createRedis,
  loadConfig,
  parseCatalogue,
} from '@kitsu-actions/shared';
import type { Redis } from 'ioredis';
import { handlers } from './handlers/index.ts';
import type { Handler } from './handlers/types.ts';
import { startWorkers, type WorkerSet } from './workers.ts';
import { enqueueClick } from '../test/enqueue.ts';

// What the processor does with a handler's wrong answer, and what the worker does with a cancel message
// it cannot read.

const prefix = `{kap-${randomUUID().slice(0, 8)}}`;
const catalogue = parseCatalogue(
  ['invalid', 'waits']
    .map((id) => `  - { id: ${id}, name: ${id}, kind: debug }\n`)
    .join('')
    .replace(/^/, 'actions:\n'),
  'processor test catalogue',
);
let connection: Redis;
let queues: JobQueues;
let events: QueueEvents;
let workers: WorkerSet;

// A page without its html: the shape the debug kind's result schema refuses.
const invalid: Handler<'debug'> = () =>
  Promise.resolve({ type: 'page', summary: 'Debug page', links: [], title: 'Debug' } as never);
/** Called with the job's id when a `waits` job starts. */
let onStart: (jobId: string) => void = () => undefined;
// Runs until its signal is aborted (a cancel).
const waits: Handler<'debug'> = ({ job, signal }) =>
  new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    onStart(job.id ?? '');
  });

beforeAll(async () => {
  const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix });
  connection = createRedis(config.redis.url, 'producer', 2000);
  queues = new JobQueues(connection, { prefix, timeoutMs: 2000, dedupWindowMs: 0 });
  events = new QueueEvents('pages', { connection: createRedis(config.redis.url, 'consumer'), prefix });
  await events.waitUntilReady();
  workers = await startWorkers({
    config,
    handlers: {
      ...handlers,
      debug: (context) => (context.data.action.id === 'invalid' ? invalid : waits)(context),
    },
    logger: createLogger({ level: 'silent', name: 'processor-test' }),
  });
});

afterAll(async () => {
  await workers.close();
  await events.close();
  await queues.close();
  connection.disconnect();
});

async function enqueue(actionId: 'invalid' | 'waits'): Promise<Job> {
  const id = await enqueueClick(queues, catalogue, actionId);
  const job = await Job.fromId(queues.queue('pages'), id);
  if (job === undefined) throw new Error(`no job ${id}`);
  return job;
}

describe('the processor', () => {
  it('fails a job whose handler returns an invalid result at once, naming what is wrong', async () => {
    const job = await enqueue('invalid');
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(
      /^The debug handler returned an invalid result: html: Invalid input: expected string, received undefined$/,
    );
    const failed = await Job.fromId(queues.queue('pages'), job.id ?? '');
    expect(await failed?.getState()).toBe('failed');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.opts.attempts).toBeGreaterThan(1);
  });
});

describe('the cancel channel', () => {
  it('ignores messages that are not cancel requests, and still acts on the next one', async () => {
    const running = new Promise<string>((resolve) => {
      onStart = resolve;
    });
    const job = await enqueue('waits');
    const id = job.id ?? '';
    expect(await running).toBe(id);
    const channel = cancelChannel(prefix);
    // Not JSON; JSON of another shape; a request for this job missing its time: none of them cancels.
    await connection.publish(channel, 'cancel everything');
    await connection.publish(channel, JSON.stringify({ jobId: 42 }));
    await connection.publish(
      channel,
      JSON.stringify({ jobId: id, by: 'nobody', reason: 'Cancelled by nobody' }),
    );
    // Published after them on the same connection, so it arrives after them.
    expect((await queues.cancel(id, { by: 'lena.becker@studio.example' }, 60)).outcome).toBe('requested');
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(
      /^Cancelled by lena\.becker@studio\.example$/,
    );
    expect(workers.workers.every((worker) => worker.isRunning())).toBe(true);
  });
});
