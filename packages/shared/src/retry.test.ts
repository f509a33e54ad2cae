import { describe, expect, it } from 'vitest';
import { backoffMs, isNotSent, parseRetryAfter, retrying, type RetryingPolicy } from './retry.ts';

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.UTC(2025, 0, 1, 12, 0, 0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('backoffMs', () => {
  it('grows by doubling, with at least half of each step, up to the cap', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    for (let attempt = 1; attempt <= 6; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** (attempt - 1));
      const wait = backoffMs(policy, attempt);
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('isNotSent', () => {
  it('is true only when the connection never opened', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket'), { code: 'ECONNRESET' }),
    });
    expect(isNotSent(refused)).toBe(true);
    expect(isNotSent(reset)).toBe(false);
  });
});

describe('retrying', () => {
  const quick: RetryingPolicy = { retries: 3, baseDelayMs: 1, maxDelayMs: 4 };
  /** A call that fails `failures` times (with errors named by attempt), then answers. */
  const flaky = (failures: number) => {
    const attempts: number[] = [];
    const call = (attempt: number): Promise<string> => {
      attempts.push(attempt);
      return attempt <= failures
        ? Promise.reject(new Error(`failure ${String(attempt)}`))
        : Promise.resolve(`answer ${String(attempt)}`);
    };
    return { call, attempts };
  };

  it('tries again until the call answers, numbering the attempts from 1', async () => {
    const { call, attempts } = flaky(2);
    await expect(retrying(call, quick)).resolves.toBe('answer 3');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('makes retries + 1 attempts, then throws the last failure', async () => {
    const { call, attempts } = flaky(10);
    await expect(retrying(call, quick)).rejects.toThrow(/^failure 4$/);
    expect(attempts).toEqual([1, 2, 3, 4]);

    const none = flaky(10);
    await expect(retrying(none.call, { ...quick, retries: 0 })).rejects.toThrow(/^failure 1$/);
    expect(none.attempts).toEqual([1]);
  });

  it('hands the last failure and the attempt count to giveUp, and throws what it returns', async () => {
    const { call } = flaky(10);
    const seen: [string, number][] = [];
    const giveUp = (error: unknown, attempts: number) => {
      seen.push([(error as Error).message, attempts]);
      return new Error(`gave up after ${String(attempts)} attempts`);
    };
    await expect(retrying(call, { ...quick, giveUp })).rejects.toThrow('gave up after 4 attempts');
    expect(seen).toEqual([['failure 4', 4]]);
  });

  it('surfaces a failure that is not worth retrying at once', async () => {
    const { call, attempts } = flaky(10);
    const waits: number[] = [];
    const policy: RetryingPolicy = {
      ...quick,
      shouldRetry: (_error, attempt) => (attempt === 2 ? 'give-up' : 'retry'),
      onRetry: ({ waitMs }) => {
        waits.push(waitMs);
      },
    };
    await expect(retrying(call, policy)).rejects.toThrow(/^failure 2$/);
    expect(attempts).toEqual([1, 2]);
    expect(waits).toHaveLength(1);
  });

  it('doubles the wait up to the cap; with jitter, each wait is at least half of its step', async () => {
    const steady: number[] = [];
    await expect(
      retrying(flaky(10).call, {
        retries: 5,
        baseDelayMs: 2,
        maxDelayMs: 10,
        jitter: false,
        onRetry: ({ attempt, waitMs }) => {
          steady.push(attempt, waitMs);
        },
      }),
    ).rejects.toThrow('failure 6');
    expect(steady).toEqual([1, 2, 2, 4, 3, 8, 4, 10, 5, 10]);

    const jittered: number[] = [];
    await retrying(flaky(4).call, {
      ...quick,
      retries: 4,
      baseDelayMs: 4,
      maxDelayMs: 16,
      onRetry: ({ waitMs }) => {
        jittered.push(waitMs);
      },
    });
    expect(jittered).toHaveLength(4);
    jittered.forEach((waitMs, index) => {
      const step = Math.min(16, 4 * 2 ** index);
      expect(waitMs).toBeGreaterThanOrEqual(step / 2);
      expect(waitMs).toBeLessThanOrEqual(step);
    });
  });

  it('waits at least a Retry-After, and gives up at once on one longer than it will wait', async () => {
    const { call, attempts } = flaky(1);
    const started = performance.now();
    const waits: number[] = [];
    await retrying(call, {
      ...quick,
      shouldRetry: () => ({ retryAfterMs: 150 }),
      onRetry: ({ waitMs }) => {
        waits.push(waitMs);
      },
    });
    expect(waits).toEqual([150]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(attempts).toEqual([1, 2]);

    const busy = flaky(10);
    await expect(
      retrying(busy.call, { ...quick, maxRetryAfterMs: 1000, shouldRetry: () => ({ retryAfterMs: 5000 }) }),
    ).rejects.toThrow(/^failure 1$/);
    expect(busy.attempts).toEqual([1]);
  });

  it('lets shouldRetry set a deadline when the retries are unlimited', async () => {
    const { call, attempts } = flaky(Infinity);
    await expect(
      retrying(call, {
        retries: Infinity,
        baseDelayMs: 1,
        maxDelayMs: 1,
        shouldRetry: (_error, attempt) => (attempt >= 7 ? 'give-up' : 'retry'),
      }),
    ).rejects.toThrow(/^failure 7$/);
    expect(attempts).toHaveLength(7);
  });

  it('an abort ends the wait at once and throws its reason; no attempt follows', async () => {
    const controller = new AbortController();
    const { call, attempts } = flaky(10);
    const started = performance.now();
    const pending = retrying(call, {
      retries: 3,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
      signal: controller.signal,
      onRetry: () => {
        setTimeout(() => {
          controller.abort(new Error('job cancelled'));
        }, 20);
      },
    });
    await expect(pending).rejects.toThrow(/^job cancelled$/);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(attempts).toEqual([1]);
  });

  it('throws the abort reason, not the failure, for a call that failed because of the abort', async () => {
    const controller = new AbortController();
    let asked = 0;
    const pending = retrying(
      () => {
        controller.abort('cancelled by Marc');
        return Promise.reject(new Error('fetch aborted'));
      },
      {
        ...quick,
        signal: controller.signal,
        shouldRetry: () => {
          asked += 1;
          return 'retry';
        },
      },
    );
    await expect(pending).rejects.toBe('cancelled by Marc');
    expect(asked).toBe(0);
  });
});
