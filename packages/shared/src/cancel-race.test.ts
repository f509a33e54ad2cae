import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCatalogue } from './catalogue.ts';
import { cancelKey } from './cancel.ts';
import type { VerifiedRequest } from './kitsu-request.ts';
import { createRedis, JobQueues } from './queues.ts';
import type { JobStatusView } from './status.ts';

// A cancel reads the job's state, then asks in one script: the job may be removed, or end, in between.
// The script itself checks again; these tests hand `cancel` a state read before the change.

const catalogue = parseCatalogue('actions:\n  - { id: debug, name: Debug, kind: debug }\n', 'test');
const action = catalogue.actions[0];
const prefix = `{kac-${randomUUID().slice(0, 8)}}`;

/** Answers its first status read with `stale` (what a reader saw a moment before), then reads Redis. */
class StaleFirstRead extends JobQueues {
  stale: JobStatusView | undefined;
  override async status(...args: Parameters<JobQueues['status']>): Promise<JobStatusView | undefined> {
    const stale = this.stale;
    this.stale = undefined;
    return stale ?? super.status(...args);
  }
}

describe('cancel racing the end of its job', () => {
  const connection = createRedis(inject('redisUrl'), 'producer', 2000);
  connection.on('error', () => undefined);
  const queues = new StaleFirstRead(connection, { prefix, timeoutMs: 2000, dedupWindowMs: 0 });
  const redis = createRedis(inject('redisUrl'), 'consumer');
  beforeAll(async () => {
    if (connection.status !== 'ready') {
      await new Promise<void>((resolve) => connection.once('ready', () => resolve()));
    }
  });
  afterAll(async () => {
    await queues.close();
    connection.disconnect();
    await redis.quit();
  });

  const request = (): VerifiedRequest => ({
    actionId: 'debug',
    personId: randomUUID(),
    projectId: randomUUID(),
    taskIds: [randomUUID()],
    entityType: 'shot',
    origin: {},
    mode: 'ajax',
    receivedAt: new Date().toISOString(),
  });
  const who = { by: 'Marc Dubois', personId: randomUUID() };

  it('a job removed after its state was read: unknown, and no cancel is stored', async () => {
    if (action === undefined) throw new Error('no action');
    const { id } = await queues.enqueue(action, request());
    const seen = await queues.status(id);
    expect(seen?.state).toBe('queued');
    await queues.queue('pages').remove(id);
    queues.stale = seen;
    expect(await queues.cancel(id, who, 60)).toEqual({ outcome: 'unknown' });
    expect(await redis.exists(cancelKey(prefix, id))).toBe(0);
  });

  it('a job that ended after its state was read: finished, as it ended, and no cancel is stored', async () => {
    if (action === undefined) throw new Error('no action');
    const { id } = await queues.enqueue(action, request());
    const seen = await queues.status(id);
    expect(seen?.state).toBe('queued');
    const worker = new Worker('pages', () => Promise.resolve({ type: 'page' }), {
      connection: createRedis(inject('redisUrl'), 'consumer'),
      prefix,
    });
    try {
      await new Promise<void>((resolve) => {
        worker.on('completed', (job) => {
          if (job.id === id) resolve();
        });
      });
    } finally {
      await worker.close();
    }
    queues.stale = seen;
    const answer = await queues.cancel(id, who, 60);
    expect(answer).toMatchObject({ outcome: 'finished', view: { id, state: 'completed' } });
    expect(await redis.exists(cancelKey(prefix, id))).toBe(0);
    // Without the stale read, the same answer.
    expect(await queues.cancel(id, who, 60)).toMatchObject({ outcome: 'finished' });
  });

  it('a job still queued: requested, and the request is stored', async () => {
    if (action === undefined) throw new Error('no action');
    const { id } = await queues.enqueue(action, request());
    expect(await queues.cancel(id, who, 60)).toMatchObject({ outcome: 'requested', view: { id } });
    expect(JSON.parse((await redis.get(cancelKey(prefix, id))) ?? 'null')).toMatchObject({
      jobId: id,
      by: 'Marc Dubois',
    });
  });
});
