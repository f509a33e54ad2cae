import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRedisServer, type RedisServer } from '@kitsu-actions/testing';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const tasks = ['95c171e1-dfff-498f-93e3-548a739e3202', '0b7e3c1a-5f7d-4b43-9a51-2c9f0c8d1e11'];

function post(baseUrl: string, selection: string[], who = person): Promise<Response> {
  return fetch(`${baseUrl}/actions/debug`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userid: who, entitytype: 'shot', selection }),
  });
}

describe('double clicks', () => {
  let harness: ReceiverHarness;
  beforeAll(async () => {
    harness = await startReceiver({ redisUrl: inject('redisUrl') });
  });
  afterAll(() => harness.close());

  it('the same person, action and selection within the window get the same job', async () => {
    const before = await harness.jobCount();
    const first = (await (await post(harness.baseUrl, tasks)).json()) as {
      jobId: string;
      deduplicated: boolean;
    };
    // Same ids in another order, one repeated: the same selection.
    const second = (await (
      await post(harness.baseUrl, [tasks[1] ?? '', tasks[0] ?? '', tasks[1] ?? ''])
    ).json()) as {
      jobId: string;
      deduplicated: boolean;
    };
    expect(first.deduplicated).toBe(false);
    expect(second.jobId).toBe(first.jobId);
    expect(second.deduplicated).toBe(true);
    expect(await harness.jobCount()).toBe(before + 1);
  });

  it('simultaneous clicks still make one job', async () => {
    const selection = ['c3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012'];
    const before = await harness.jobCount();
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(harness.baseUrl, selection)));
    const ids = await Promise.all(
      answers.map(async (answer) => ((await answer.json()) as { jobId: string }).jobId),
    );
    expect(new Set(ids).size).toBe(1);
    expect(await harness.jobCount()).toBe(before + 1);
  });

  it('a click after a cancel makes a new job, not the cancelled one again', async () => {
    const selection = ['d3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012'];
    const first = (await (await post(harness.baseUrl, selection)).json()) as { jobId: string };
    const cancel = await fetch(`${harness.baseUrl}/jobs/${first.jobId}/cancel`, {
      method: 'POST',
      headers: { Accept: 'application/json' },
    });
    expect(cancel.status).toBeLessThan(300);
    const again = (await (await post(harness.baseUrl, selection)).json()) as {
      jobId: string;
      deduplicated: boolean;
    };
    expect(again.deduplicated).toBe(false);
    expect(again.jobId).not.toBe(first.jobId);
  });

  it('another person or another selection is another job', async () => {
    const before = await harness.jobCount();
    const other = (await (
      await post(harness.baseUrl, tasks, '2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1')
    ).json()) as {
      deduplicated: boolean;
    };
    const fewer = (await (await post(harness.baseUrl, tasks.slice(0, 1))).json()) as {
      deduplicated: boolean;
    };
    expect(other.deduplicated).toBe(false);
    expect(fewer.deduplicated).toBe(false);
    expect(await harness.jobCount()).toBe(before + 2);
  });
});

describe('Redis outage', () => {
  let redis: RedisServer;
  let harness: ReceiverHarness;
  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: true });
    // Redis timeouts longer than the test: an answer that waited on Redis (or on a timeout) never comes.
    harness = await startReceiver({ redisUrl: redis.url, env: { REDIS_TIMEOUT_MS: '60000' } });
  });
  afterEach(async () => {
    await redis.start().catch(() => undefined);
  });
  afterAll(async () => {
    await harness.close();
    await redis.destroy();
  });

  it('answers 503 at once while Redis is down, then recovers without a restart', async () => {
    expect((await post(harness.baseUrl, tasks)).status).toBe(202);
    await redis.stop({ hard: true });

    // How fast the answer comes is the bench's to measure; here it comes without Redis or a timeout.
    for (const selection of [tasks, tasks.slice(1)]) {
      const response = await post(harness.baseUrl, selection);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('queue_unavailable');
      expect(body.error.message).toMatch(/nothing was queued/);
    }
    const ready = await fetch(`${harness.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('unavailable');
    expect((await fetch(`${harness.baseUrl}/healthz`)).status).toBe(200);

    await redis.start();
    // The receiver reconnects by itself; wait for it to say so (bounded), then accept again.
    await new Promise<void>((resolve) => {
      if (harness.connection.status === 'ready') resolve();
      else harness.connection.once('ready', () => resolve());
    });
    expect((await fetch(`${harness.baseUrl}/readyz`)).status).toBe(200);
    const again = await post(harness.baseUrl, ['c3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012']);
    expect(again.status).toBe(202);
    // The job accepted before the outage survived it (AOF), and the new one is there too.
    expect(await harness.jobCount()).toBe(2);
  });
});

describe('job reads and cancels while Redis is down', () => {
  let redis: RedisServer;
  let harness: ReceiverHarness;
  beforeAll(async () => {
    redis = await startRedisServer();
    harness = await startReceiver({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await harness.close();
    await redis.destroy();
  });

  it('the list, a status and a cancel answer 503 queue_unavailable', async () => {
    const accepted = await post(harness.baseUrl, tasks);
    expect(accepted.status).toBe(202);
    const { jobId } = (await accepted.json()) as { jobId: string };
    await redis.stop({ hard: true });

    const json = { Accept: 'application/json' };
    const answers = [
      await fetch(`${harness.baseUrl}/jobs`, { headers: json }),
      await fetch(`${harness.baseUrl}/jobs/${jobId}`, { headers: json }),
      await fetch(`${harness.baseUrl}/jobs/${jobId}/cancel`, { method: 'POST', headers: json }),
    ];
    for (const answer of answers) {
      expect({ url: answer.url, status: answer.status }).toEqual({ url: answer.url, status: 503 });
      expect(answer.headers.get('retry-after')).toBe('5');
      const body = (await answer.json()) as { error: { code: string } };
      expect(body.error.code).toBe('queue_unavailable');
    }
  });
});
