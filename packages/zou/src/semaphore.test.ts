import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.ts';

/** Lets every pending microtask run (a macrotask boundary, not a timer). */
const flush = async () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, the rest in arrival order', async () => {
    const semaphore = new Semaphore(2);
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const runs = [0, 1, 2, 3].map(async (n) =>
      semaphore.run(async () => {
        started.push(n);
        await new Promise<void>((resolve) => releases.push(resolve));
        return n;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect(semaphore.active).toBe(2);
    expect(semaphore.waiting).toBe(2);
    releases[0]?.();
    await expect(runs[0]).resolves.toBe(0);
    await flush();
    expect(started).toEqual([0, 1, 2]);
    expect(semaphore.active).toBe(2);
    releases[1]?.();
    releases[2]?.();
    await Promise.all([runs[1], runs[2]]);
    await flush();
    releases[3]?.();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2, 3]);
    expect(semaphore.active).toBe(0);
  });

  it('frees the slot when the task throws', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(semaphore.run(() => Promise.resolve('next'))).resolves.toBe('next');
    expect(semaphore.active).toBe(0);
  });

  it('rejects a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
