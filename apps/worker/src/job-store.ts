import {
  bullJobKey,
  cancelKey,
  parseCancelRequest,
  queueOfJobId,
  recordJobFields,
  type CancelOutcome,
  type CancelRequest,
} from '@kitsu-actions/shared';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * Runs `step` while this run alone holds `name` on the job. Two runs of one job overlap when a worker
   * loses its job lock (a stalled event loop, a network split) and BullMQ hands the job to another: the
   * second waits here, then sees what the first recorded, instead of repeating a side effect such as a
   * farm submission. The hold is renewed while `step` runs and lapses `holdMs` after its holder dies.
   */
  exclusive<T>(name: string, step: () => Promise<T>, options?: ExclusiveOptions): Promise<T>;
}

export interface ExclusiveOptions {
  /** How long the hold outlives a holder that died; renewed at a third of it while the holder lives. */
  holdMs?: number;
  /** Stops the wait (and only the wait) for another run's hold. */
  signal?: AbortSignal;
}

const defaultHoldMs = 10_000;
const holdPollMs = 100;
// Only the holder's own token releases or renews the hold: a lapsed hold taken by another run stays its.
const releaseHold = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const renewHold = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

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
    async exclusive(name, step, { holdMs = defaultHoldMs, signal } = {}) {
      const holdKey = `${key}:hold:${name}`;
      const token = randomUUID();
      while ((await redis.set(holdKey, token, 'PX', holdMs, 'NX')) !== 'OK') {
        await sleep(holdPollMs, undefined, { signal });
      }
      const renewing = setInterval(
        () => {
          redis.eval(renewHold, 1, holdKey, token, holdMs).catch(() => undefined);
        },
        Math.max(1, Math.floor(holdMs / 3)),
      );
      try {
        return await step();
      } finally {
        clearInterval(renewing);
        // A release that fails leaves the hold to lapse after holdMs: the next run waits that long.
        await redis.eval(releaseHold, 1, holdKey, token).catch(() => undefined);
      }
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
