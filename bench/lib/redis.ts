import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueName } from '@kitsu-actions/shared';

/** A plain connection for the bench's own calls (BullMQ queues in the parent, counts, cleanup). */
export function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  return redis;
}

/** Rejects when `work` has not settled within `ms` (the work itself is left to finish or hang). */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function redisVersion(url: string): Promise<string> {
  const redis = connect(url);
  try {
    const info = await withTimeout(redis.info('server'), 5000, `redis at ${url}`);
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'unavailable';
  } finally {
    redis.disconnect();
  }
}

/** Obliterates every queue of the prefix, then removes whatever key is left under it. */
export async function removePrefix(url: string, prefix: string): Promise<{ leftover: number }> {
  const redis = connect(url);
  try {
    for (const name of QueueName.options) {
      const queue = new Queue(name, { connection: redis, prefix });
      try {
        await queue.obliterate({ force: true });
      } finally {
        await queue.close();
      }
    }
    let leftover = 0;
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) {
        leftover += keys.length;
        await redis.unlink(...keys);
      }
    } while (cursor !== '0');
    return { leftover };
  } finally {
    redis.disconnect();
  }
}

/** BullMQ's counts for the `pages` queue of a prefix (waiting, active, completed, failed, …). */
export async function jobCounts(url: string, prefix: string): Promise<Record<string, number>> {
  const redis = connect(url);
  const queue = new Queue('pages', { connection: redis, prefix });
  try {
    return await queue.getJobCounts();
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
