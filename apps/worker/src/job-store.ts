import {
  bullJobKey,
  cancelKey,
  parseCancelRequest,
  queueOfJobId,
  recordJobFields,
  type CancelOutcome,
  type CancelRequest,
} from '@kitsu-actions/shared';
import type { Redis } from 'ioredis';

/**
 * What a handler records about its job outside the job's data, in a Redis hash of its own: the receiver
 * never writes there, so nothing overwrites it (job.updateData replaces the whole data). Render jobs keep
 * their submission keys and farm job refs here, each written before the step that depends on it.
 */
export interface JobStore {
  read(): Promise<Record<string, string>>;
  write(field: string, value: string): Promise<void>;
  /** The cancel a person asked for, if any. */
  cancelRequest(): Promise<CancelRequest | undefined>;
}

/** The processor's side of the store: a handler never writes what status pages read of its job. */
export interface ProcessorJobStore extends JobStore {
  /**
   * What status pages and listings show of the job's end (its result as resultSummaryOf reads it, the
   * Kitsu report, how it was cancelled), kept in BullMQ's hash of the job so it goes with the job; nothing once the job is gone.
   */
  recordForStatus(fields: { result?: unknown; report?: unknown; cancelled?: CancelOutcome }): Promise<void>;
}

export function jobStoreKey(prefix: string, jobId: string): string {
  return `${prefix}:kitsu-actions:job:${jobId}`;
}

export function redisJobStore(
  redis: Redis,
  options: { prefix: string; jobId: string; keepSeconds: number },
): ProcessorJobStore {
  const key = jobStoreKey(options.prefix, options.jobId);
  return {
    async read() {
      return redis.hgetall(key);
    },
    async write(field, value) {
      // One round trip, applied together: the field and the key's lifetime (as long as a failed job's).
      const replies = await redis.multi().hset(key, field, value).expire(key, options.keepSeconds).exec();
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
      if (replies === null) throw new Error(`Redis discarded the write of ${field} on ${key}`);
    },
    async cancelRequest() {
      return parseCancelRequest(await redis.get(cancelKey(options.prefix, options.jobId)));
    },
    async recordForStatus(fields) {
      const queue = queueOfJobId(options.jobId);
      if (queue === undefined) return;
      const values = Object.fromEntries(
        Object.entries(fields).flatMap(([name, value]) =>
          value === undefined ? [] : [[name, JSON.stringify(value)]],
        ),
      );
      await recordJobFields(redis, bullJobKey(options.prefix, queue, options.jobId), values);
    },
  };
}
