import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  JobCancelled,
  JobQueues,
  bullJobKey,
  cancelledField,
  createLogger,
  createRedis,
  loadConfig,
  parseCatalogue,
  statusViewOf,
  type JobRecord,
  type JobStatusView,
} from '@kitsu-actions/shared';
import type { Redis } from 'ioredis';
import { handlers } from './handlers/index.ts';
import type { Handler } from './handlers/types.ts';
import { startWorkers, type WorkerSet } from './workers.ts';
import { enqueueClick } from '../test/enqueue.ts';

// A cancel is an outcome the worker records, not a reason's first word: a job a handler ends with
// JobCancelled reads as cancelled whatever its reason says, in its status and in listings.

const prefix = `{kac-${randomUUID().slice(0, 8)}}`;
const catalogue = parseCatalogue(
  ['farm', 'failing', 'earlier']
    .map((id) => `  - { id: ${id}, name: ${id}, kind: debug }\n`)
    .join('')
    .replace(/^/, 'actions:\n'),
  'cancel test catalogue',
);
let connection: Redis;
let queues: JobQueues;
let workers: WorkerSet;

const stoppedOnTheFarm: Handler<'debug'> = () =>
  Promise.reject(
    new JobCancelled({
      reason: 'Stopped in the farm UI by the wrangler',
      by: 'Flamenco',
      at: new Date().toISOString(),
    }),
  );
const failing: Handler<'debug'> = () => Promise.reject(new Error('Cancelled nothing: the disk is full'));
// How a worker of an earlier version ended a cancelled job: its reason only, no recorded outcome.
const earlierVersion: Handler<'debug'> = () =>
  Promise.reject(new UnrecoverableError('Cancelled by marc@studio before it started'));

const endings = new Map<string, Handler<'debug'>>([
  ['farm', stoppedOnTheFarm],
  ['failing', failing],
  ['earlier', earlierVersion],
]);

beforeAll(async () => {
  const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix });
  connection = createRedis(config.redis.url, 'producer', 2000);
  queues = new JobQueues(connection, { prefix, timeoutMs: 2000, dedupWindowMs: 0 });
  workers = await startWorkers({
    config,
    // One action per ending: cancelled on the farm, failed with a reason that only looks like a cancel
    // (retried, then failed), ended as an earlier version ended a cancelled job.
    handlers: {
      ...handlers,
      debug: (context) => (endings.get(context.data.action.id) ?? failing)(context),
    },
    logger: createLogger({ level: 'silent', name: 'cancel-test' }),
  });
});

afterAll(async () => {
  await workers.close();
  connection.disconnect();
});

async function ended(id: string): Promise<JobStatusView> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const view = (await queues.find(id))?.view;
    if (view !== undefined && ['completed', 'failed', 'cancelled'].includes(view.state)) return view;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${id} did not end`);
}

function enqueue(actionId: 'farm' | 'failing' | 'earlier'): Promise<string> {
  return enqueueClick(queues, catalogue, actionId);
}

describe('a cancel as the worker records it', () => {
  it('a job ended with JobCancelled is cancelled, by whom it says, in its status and in listings', async () => {
    const cancelled = await enqueue('farm');
    const view = await ended(cancelled);
    expect(view.state).toBe('cancelled');
    expect(view.error?.message).toBe('Stopped in the farm UI by the wrangler');
    expect(view.attempts).toBe(1);
    const recorded = await connection.hget(bullJobKey(prefix, 'pages', cancelled), `ka:${cancelledField}`);
    expect(JSON.parse(recorded ?? 'null')).toMatchObject({ by: 'Flamenco' });

    const failed = await enqueue('failing');
    const failure = await ended(failed);
    expect(failure.state).toBe('failed');
    expect(failure.error?.message).toBe('Cancelled nothing: the disk is full');
    expect(await connection.hexists(bullJobKey(prefix, 'pages', failed), `ka:${cancelledField}`)).toBe(0);

    const earlier = await enqueue('earlier');
    expect((await ended(earlier)).state).toBe('cancelled');

    const listed = async (state: 'cancelled' | 'failed') =>
      (await queues.list({ state }, { offset: 0, limit: 10 })).jobs.map((job) => job.id).sort();
    expect(await listed('cancelled')).toEqual([cancelled, earlier].sort());
    expect(await listed('failed')).toEqual([failed]);
  });
});

describe('a job that ended before cancels were recorded', () => {
  const record = (failedReason: string): JobRecord => ({
    id: 'render-1',
    summary: {
      actionId: 'render',
      actionName: 'Render',
      kind: 'render.flamenco',
      personId: 'p1',
      projectIds: [],
      taskCount: 1,
      maxAttempts: 3,
    },
    bullState: 'failed',
    timestamp: 1,
    finishedOn: 2,
    attemptsMade: 1,
    failedReason,
  });

  it('reads as cancelled by its reason, as it did', () => {
    expect(statusViewOf(record('Cancelled by marc@studio')).state).toBe('cancelled');
    expect(statusViewOf(record('2 of 2 shots failed on Flamenco')).state).toBe('failed');
  });
});
