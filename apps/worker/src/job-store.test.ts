import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from '@kitsu-actions/shared';
import type { Redis } from 'ioredis';
import { jobStoreKey, redisJobStore } from './job-store.ts';

// The hold that keeps two overlapping runs of one job from repeating a side effect, against real Redis.

const prefix = `{kas-${randomUUID().slice(0, 8)}}`;
let redis: Redis;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'), 'consumer');
});
afterAll(async () => {
  await redis.quit();
});

const storeOf = (jobId: string) => redisJobStore(redis, { prefix, jobId, keepSeconds: 60 });

describe('exclusive', () => {
  it('runs overlapping steps of one job one after the other, and steps of two jobs together', async () => {
    const jobId = `render:${randomUUID()}`;
    const order: string[] = [];
    const step = (name: string) => async () => {
      order.push(`${name} in`);
      await sleep(150);
      order.push(`${name} out`);
      return name;
    };
    const [first, second] = await Promise.all([
      storeOf(jobId).exclusive('shot:a', step('first')),
      (async () => {
        await sleep(20);
        return storeOf(jobId).exclusive('shot:a', step('second'));
      })(),
    ]);
    expect([first, second]).toEqual(['first', 'second']);
    expect(order).toEqual(['first in', 'first out', 'second in', 'second out']);

    // Another name, or another job: no waiting.
    order.length = 0;
    await Promise.all([
      storeOf(jobId).exclusive('shot:a', step('a')),
      storeOf(jobId).exclusive('shot:b', step('b')),
      storeOf(`render:${randomUUID()}`).exclusive('shot:a', step('other job')),
    ]);
    expect(order.slice(0, 3).sort()).toEqual(['a in', 'b in', 'other job in']);
  });

  it('is released when the step throws, and after it the hold key is gone', async () => {
    const jobId = `render:${randomUUID()}`;
    const store = storeOf(jobId);
    await expect(store.exclusive('shot:a', () => Promise.reject(new Error('farm down')))).rejects.toThrow(
      'farm down',
    );
    expect(await redis.exists(`${jobStoreKey(prefix, jobId)}:hold:shot:a`)).toBe(0);
    await expect(store.exclusive('shot:a', () => Promise.resolve('again'))).resolves.toBe('again');
  });

  it('is renewed while a slow step runs, and lapses after a holder that died', async () => {
    const jobId = `render:${randomUUID()}`;
    const holdKey = `${jobStoreKey(prefix, jobId)}:hold:shot:a`;
    let secondStarted = false;
    const slow = storeOf(jobId).exclusive(
      'shot:a',
      async () => {
        await sleep(700); // more than twice the hold: only renewal keeps it
        return secondStarted;
      },
      { holdMs: 300 },
    );
    await sleep(50);
    const second = storeOf(jobId).exclusive('shot:a', () => {
      secondStarted = true;
      return Promise.resolve();
    });
    expect(await slow).toBe(false);
    await second;
    expect(secondStarted).toBe(true);

    // A holder that died (its hold set, nobody renewing it): the next run gets in once it lapses.
    await redis.set(holdKey, 'a run that died', 'PX', 300);
    let ran = false;
    await storeOf(jobId).exclusive('shot:a', () => {
      ran = true;
      return Promise.resolve();
    });
    expect(ran).toBe(true);
    expect(await redis.exists(holdKey)).toBe(0);
  });

  it('stops waiting for another run when its signal is aborted, without taking the hold', async () => {
    const jobId = `render:${randomUUID()}`;
    const holdKey = `${jobStoreKey(prefix, jobId)}:hold:shot:a`;
    await redis.set(holdKey, 'another run', 'PX', 60_000);
    const controller = new AbortController();
    let ran = false;
    const waiting = storeOf(jobId).exclusive(
      'shot:a',
      () => {
        ran = true;
        return Promise.resolve();
      },
      { signal: controller.signal },
    );
    await sleep(150);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow();
    expect(ran).toBe(false);
    expect(await redis.get(holdKey)).toBe('another run');
  });
});
