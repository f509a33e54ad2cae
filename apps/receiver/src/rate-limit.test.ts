import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';

const task = '95c171e1-dfff-498f-93e3-548a739e3202';

function post(
  harness: ReceiverHarness,
  person: string,
  address: string,
  selection = [randomUUID()],
): Promise<Response> {
  return fetch(`${harness.baseUrl}/actions/debug`, {
    method: 'POST',
    // The receiver sits behind a proxy: the address is the X-Forwarded-For entry the proxy appended.
    headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': address },
    body: JSON.stringify({ userid: person, entitytype: 'shot', selection }),
  });
}

async function refusal(response: Response): Promise<{ status: number; code: string; retryAfter: number }> {
  const body = (await response.json()) as { error: { code: string } };
  return {
    status: response.status,
    code: body.error.code,
    retryAfter: Number(response.headers.get('retry-after')),
  };
}

describe('rate limits, counted in Redis', () => {
  describe('per client address', () => {
    let first: ReceiverHarness;
    let replica: ReceiverHarness;
    beforeAll(async () => {
      const env = { RATE_LIMIT_PER_ADDRESS: '10', RATE_LIMIT_PER_PERSON: '0', RATE_LIMIT_WINDOW_S: '60' };
      first = await startReceiver({ redisUrl: inject('redisUrl'), env });
      // A second replica on the same Redis and key prefix: the count is shared.
      replica = await startReceiver({ redisUrl: inject('redisUrl'), env, prefix: first.prefix });
    });
    afterAll(async () => {
      await replica.close();
      await first.close();
    });

    it('counts across replicas, atomically: of 16 simultaneous requests exactly 10 pass, the rest get 429 with Retry-After', async () => {
      const address = '203.0.113.7';
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, index) =>
          post(index % 2 === 0 ? first : replica, randomUUID(), address),
        ),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 202)).toHaveLength(10);
      const refused = await Promise.all(answers.filter((answer) => answer.status === 429).map(refusal));
      expect(refused).toHaveLength(6);
      for (const entry of refused) {
        expect(entry.code).toBe('rate_limited');
        expect(entry.retryAfter).toBeGreaterThanOrEqual(1);
        expect(entry.retryAfter).toBeLessThanOrEqual(60);
      }
      // Reads count too; the probes never do.
      expect((await fetch(`${first.baseUrl}/jobs`, { headers: { 'X-Forwarded-For': address } })).status).toBe(
        429,
      );
      expect(
        (await fetch(`${first.baseUrl}/healthz`, { headers: { 'X-Forwarded-For': address } })).status,
      ).toBe(200);
      expect(
        (await fetch(`${first.baseUrl}/readyz`, { headers: { 'X-Forwarded-For': address } })).status,
      ).toBe(200);
    });

    it('another address has its own count; entries a client put before the proxy do not change its address', async () => {
      const address = '203.0.113.8';
      for (let sent = 0; sent < 10; sent++) {
        expect((await post(first, randomUUID(), `10.9.8.${sent}, ${address}`)).status).toBe(202);
      }
      expect((await post(first, randomUUID(), `10.9.9.9, ${address}`)).status).toBe(429);
      expect((await post(first, randomUUID(), '203.0.113.9')).status).toBe(202);
    });

    it('keeps its counters in a key space of its own, expiring with the window', async () => {
      expect((await post(first, randomUUID(), '203.0.113.30')).status).toBe(202);
      const keys = await first.connection.keys(`${first.prefix}:rate:*`);
      expect(keys.some((key) => key.includes('203.0.113.30'))).toBe(true);
      for (const key of keys) {
        expect(key).toMatch(/^\{kat-[0-9a-f]{8}\}:rate:address:/);
        const ttl = await first.connection.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
    });
  });

  describe('per person', () => {
    let harness: ReceiverHarness;
    beforeAll(async () => {
      harness = await startReceiver({
        redisUrl: inject('redisUrl'),
        env: { RATE_LIMIT_PER_PERSON: '3', RATE_LIMIT_PER_ADDRESS: '0', DEDUP_WINDOW_MS: '0' },
      });
    });
    afterAll(() => harness.close());

    it('a person past the limit gets 429 from any address; other people are not held up', async () => {
      const person = randomUUID();
      const before = await harness.jobCount();
      for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        expect((await post(harness, person, address, [task])).status).toBe(202);
      }
      const refused = await post(harness, person, '198.51.100.4', [task]);
      expect(await refusal(refused)).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(await harness.jobCount()).toBe(before + 3);
      expect((await post(harness, randomUUID(), '198.51.100.4', [task])).status).toBe(202);
    });

    it('the message says who, how many and when to try again', async () => {
      const person = randomUUID();
      for (let sent = 0; sent < 3; sent++) await post(harness, person, '198.51.100.5');
      const refused = await post(harness, person, '198.51.100.5');
      const body = (await refused.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(
        /^This person has run more than 3 actions in 60 s \(RATE_LIMIT_PER_PERSON\); nothing was done\. Try again in \d+ s\.$/,
      );
    });
  });
});
