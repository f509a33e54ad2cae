import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  createRedis,
  JobQueues,
  parseCatalogue,
  QueueName,
  type VerifiedRequest,
  type CatalogueAction,
} from '@kitsu-actions/shared';
import { freePort, spawnService, type ServiceProcess } from '@kitsu-actions/testing';

// Issue 10, item 3: listings read a small summary, page in Redis (an exact total past 1,000 jobs) and use
// a connection of their own, so reads never starve the acknowledgement of an action.

const catalogueYaml = 'actions:\n  - { id: debug, name: Debug selection, kind: debug, ajax: true }\n';
const seeded = 1200;
const people = ['b01bae1e-f829-458a-a1eb-131bb66628cc', '2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1'] as const;
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

describe('job reads under load (a receiver process on real Redis)', () => {
  const prefix = `{kat-${randomUUID().slice(0, 8)}}`;
  let connection: Redis;
  let queues: JobQueues;
  let receiver: ServiceProcess;
  let baseUrl: string;
  /** Jobs the POST test queued, for the listing test when it runs second. */
  let posted = 0;

  beforeAll(async () => {
    const redisUrl = inject('redisUrl');
    connection = createRedis(redisUrl, 'producer', 5000);
    await new Promise<void>((resolve) => connection.once('ready', resolve));
    queues = new JobQueues(connection, { prefix, timeoutMs: 5000, dedupWindowMs: 0 });
    // 1,200 jobs with what a debug job keeps (the request as received, here 16 KB of it): what a listing
    // that read job bodies would drag through Redis.
    const action = parseCatalogue(catalogueYaml, 'test').actions[0] as CatalogueAction;
    const filler = 'x'.repeat(16 * 1024);
    const enqueue = (index: number) => {
      const request: VerifiedRequest = {
        actionId: 'debug',
        personId: people[index % 2] ?? '',
        taskIds: [task],
        entityType: 'asset',
        origin: {},
        mode: 'ajax',
        receivedAt: new Date().toISOString(),
      };
      const raw = { method: 'POST', url: '/actions/debug', headers: {}, body: filler, fields: {} };
      return queues.enqueue(action, request, raw);
    };
    for (let start = 0; start < seeded; start += 50) {
      await Promise.all(Array.from({ length: Math.min(50, seeded - start) }, (_, at) => enqueue(start + at)));
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'kitsu-actions-'));
    const actionsFile = path.join(dir, 'actions.yaml');
    writeFileSync(actionsFile, catalogueYaml);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // No worker: every job stays queued, as in a flood.
    receiver = spawnService('apps/receiver/src/main.ts', {
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: baseUrl,
      QUEUE_PREFIX: prefix,
      ACTIONS_FILE: actionsFile,
      AUTH_MODE: 'none',
      DEDUP_WINDOW_MS: '0',
      // This test measures reads against acknowledgements, not the rate limits.
      RATE_LIMIT_PER_ADDRESS: '0',
      RATE_LIMIT_PER_PERSON: '0',
      LOG_LEVEL: 'info',
    });
    await receiver.waitFor(/receiver listening/);
  });

  afterAll(async () => {
    await receiver.stop();
    for (const name of QueueName.options) await queues.queue(name).obliterate({ force: true });
    let cursor = '0';
    do {
      const [next, keys] = await connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await connection.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await queues.close();
    connection.disconnect();
  });

  const list = async (
    query: string,
  ): Promise<{ jobs: Array<{ id: string }>; total: number; pages: number }> => {
    const response = await fetch(`${baseUrl}/jobs${query}`, { headers: { Accept: 'application/json' } });
    expect(response.status).toBe(200);
    return (await response.json()) as { jobs: Array<{ id: string }>; total: number; pages: number };
  };

  it('counts every job past 1,000 and pages through all of them, filtered or not', async () => {
    // The seeded jobs, and those the POST test queued if it ran first (as people[0]).
    const total = seeded + posted;
    const first = await list('?perPage=100');
    expect(first.total).toBe(total);
    expect(first.pages).toBe(Math.ceil(total / 100));
    const seen = new Set<string>();
    for (let page = 1; page <= first.pages; page += 1) {
      const { jobs } = await list(`?perPage=100&page=${page}`);
      expect(jobs).toHaveLength(Math.min(100, total - (page - 1) * 100));
      for (const job of jobs) seen.add(job.id);
    }
    expect(seen.size).toBe(total);
    expect((await list(`?perPage=100&page=${first.pages + 1}`)).jobs).toHaveLength(0);
    const mine = await list(`?person=${people[1]}&state=queued&perPage=100`);
    expect(mine.total).toBe(seeded / 2);
    expect((await list('?state=completed')).total).toBe(0);
  });

  it('8 clients looping GET /jobs: every action POST still answers 202 (its latency is the bench figure read-load)', async () => {
    const posts = 300;
    const deadline = Date.now() + 60_000;
    let stop = false;
    let reads = 0;
    const readers = Array.from({ length: 8 }, async () => {
      while (!stop && Date.now() < deadline) {
        const response = await fetch(`${baseUrl}/jobs`, { headers: { Accept: 'application/json' } });
        await response.arrayBuffer();
        reads += 1;
      }
    });
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    try {
      for (let index = 0; index < posts && Date.now() < deadline; index += 1) {
        const started = performance.now();
        const response = await fetch(`${baseUrl}/actions/debug`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ userid: people[0], selection: [task], entitytype: 'asset' }),
        });
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 202) posted += 1;
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1] ?? Number.POSITIVE_INFINITY;
    const p50 = latencies[Math.ceil(latencies.length * 0.5) - 1] ?? Number.POSITIVE_INFINITY;
    const summary = `${latencies.length} POSTs during ${reads} GET /jobs: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`;
    // eslint-disable-next-line no-console -- the measured figure, for the record of the run
    console.info(summary);
    expect(Object.fromEntries(statuses), summary).toEqual({ 202: posts });
    expect(reads, summary).toBeGreaterThan(8);
  }, 90_000);
});
