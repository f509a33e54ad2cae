import { describe, expect, it } from 'vitest';
import { backoffMs, isNotSent, parseRetryAfter } from './retry.ts';

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
