import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, createRedis, loadConfig, type JobData } from '@kitsu-actions/shared';
import { spawnService } from '@kitsu-actions/testing';
import type { Redis } from 'ioredis';
import { handlers } from './handlers/index.ts';
import { checkRegistry, startWorkers, type WorkerSet } from './workers.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

function jobData(overrides: Partial<JobData['action']> = {}): JobData {
  return {
    request: {
      actionId: 'debug',
      personId: person,
      taskIds: [task],
      entityType: 'shot',
      origin: {},
      mode: 'ajax',
      receivedAt: new Date().toISOString(),
    },
    action: {
      id: 'debug',
      name: 'Debug',
      kind: 'debug',
      entityType: 'all',
      ajax: true,
      options: {},
      ...overrides,
    },
  };
}

describe('worker', () => {
  const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
  let connection: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let workers: WorkerSet;

  beforeAll(async () => {
    const config = loadConfig({
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
      KEEP_COMPLETED_COUNT: '2',
    });
    connection = createRedis(config.redis.url, 'consumer');
    queue = new Queue('pages', { connection, prefix });
    events = new QueueEvents('pages', { connection: createRedis(config.redis.url, 'consumer'), prefix });
    await events.waitUntilReady();
    workers = await startWorkers({
      config,
      handlers,
      logger: createLogger({ level: 'silent', name: 'test' }),
    });
  });
  afterAll(async () => {
    await workers.close();
    await workers.close(); // a second close is harmless
    await events.close();
    await queue.close();
    connection.disconnect();
  });

  it('fails bad job data at once, without retries, naming the problem', async () => {
    const job = await queue.add('debug', { request: { personId: 'nobody' } }, { attempts: 5 });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(
      /Invalid job data: request\.actionId/,
    );
    const failed = await Job.fromId(queue, job.id ?? '');
    expect(failed?.attemptsMade).toBe(1);
    expect(await failed?.getState()).toBe('failed');
  });

  it('fails options the kind does not know, without retries', async () => {
    const job = await queue.add('debug', jobData({ options: { colour: 'red' } }), { attempts: 5 });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(
      /Invalid options for action "debug": .*colour/,
    );
    expect((await Job.fromId(queue, job.id ?? ''))?.attemptsMade).toBe(1);
  });

  it('refuses a job whose name and kind disagree', async () => {
    const job = await queue.add('render', jobData(), { attempts: 3 });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(
      /does not match its action kind "debug"/,
    );
  });

  it('runs a good job and keeps only the configured number of finished jobs', async () => {
    const progress: unknown[] = [];
    const listener = ({ jobId, data }: { jobId: string; data: unknown }): void => {
      if (jobId.startsWith('p-')) progress.push(data);
    };
    events.on('progress', listener);
    const ids = ['p-1', 'p-2', 'p-3'];
    for (const id of ids) {
      const job = await queue.add('debug', jobData(), { jobId: id });
      const result = (await job.waitUntilFinished(events, 10_000)) as { type: string; html: string };
      expect(result.type).toBe('page');
      expect(result.html).toContain(task);
    }
    events.off('progress', listener);
    // Without Kitsu the debug page takes a millisecond: no progress writes to Redis for it.
    expect(progress).toEqual([]);
    // KEEP_COMPLETED_COUNT=2: the oldest completed job is gone, the newest two remain.
    expect(await Job.fromId(queue, 'p-1')).toBeUndefined();
    expect(await Job.fromId(queue, 'p-3')).toBeDefined();
  });

  it('every kind has a handler and every queue a worker', () => {
    expect(() => checkRegistry(handlers, ['pages', 'reports', 'render'])).not.toThrow();
    expect(() => checkRegistry(handlers, ['pages'])).toThrow(
      /No worker would serve queues: render, reports$/,
    );
    expect(() => checkRegistry(handlers, [])).toThrow(
      /No worker would serve queues: pages, render, reports$/,
    );
  });
});

describe('worker process', () => {
  it('stops gracefully on SIGTERM, and a second signal is harmless', async () => {
    const worker = spawnService('apps/worker/src/main.ts', {
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `{kat-${randomUUID().slice(0, 8)}}`,
    });
    await worker.waitFor(/workers ready/);
    worker.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/worker stopped/);
  });

  it('logs a failed job with its whole error (type, message, stack), not its message alone', async () => {
    const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
    const worker = spawnService('apps/worker/src/main.ts', {
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
    });
    const connection = createRedis(inject('redisUrl'), 'consumer');
    const queue = new Queue('pages', { connection, prefix });
    try {
      await worker.waitFor(/workers ready/);
      await queue.add('debug', { request: { personId: 'nobody' } }, { attempts: 1 });
      await worker.waitFor(/"msg":"job failed"/);
      const line = worker
        .output()
        .split('\n')
        .find((text) => text.includes('"msg":"job failed"'));
      const logged = JSON.parse(line ?? '{}') as {
        err?: { type?: unknown; message?: unknown; stack?: unknown };
      };
      expect(logged.err?.type).toBe('UnrecoverableError');
      expect(logged.err?.message).toMatch(/Invalid job data: request\.actionId/);
      expect(logged.err?.stack).toMatch(/^UnrecoverableError: Invalid job data[\s\S]*\n\s+at /);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await queue.close();
      connection.disconnect();
    }
  });

  it('refuses to start with bad configuration, naming the variable', async () => {
    const worker = spawnService('apps/worker/src/main.ts', {
      REDIS_URL: 'http://nope',
      WORKER_CONCURRENCY: 'many',
    });
    expect(await worker.exited).toBe(78);
    expect(worker.output()).toMatch(/REDIS_URL: /);
    expect(worker.output()).toMatch(/WORKER_CONCURRENCY: .*\(got "many"\)/);
  });
});
