import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCatalogue } from './catalogue.ts';
import type { VerifiedRequest } from './kitsu-request.ts';
import { createRedis, JobQueues, QueueUnavailableError } from './queues.ts';

const action = parseCatalogue('actions:\n  - { id: debug, name: Debug, kind: debug }\n', 'test').actions[0];
const request: VerifiedRequest = {
  actionId: 'debug',
  personId: randomUUID(),
  taskIds: [randomUUID()],
  entityType: 'shot',
  origin: {},
  mode: 'ajax',
  receivedAt: new Date().toISOString(),
};

/** Fields nested `depth` levels deep: serialising them overflows the stack. */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = [];
  for (let level = 0; level < depth; level++) value = [value];
  return { extra: value };
}

describe('JobQueues: Redis unavailable means Redis, nothing else', () => {
  const connection = createRedis(inject('redisUrl'), 'producer');
  connection.on('error', () => undefined);
  const queues = new JobQueues(connection, {
    prefix: `{kat-${randomUUID().slice(0, 8)}}`,
    timeoutMs: 2000,
    dedupWindowMs: 0,
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => connection.once('ready', () => resolve()));
  });
  afterAll(async () => {
    await queues.close();
    connection.disconnect();
  });

  it('a job that cannot be serialised is that error, not QueueUnavailableError', async () => {
    if (action === undefined) throw new Error('no action');
    const raw = { method: 'POST', url: '/actions/debug', headers: {}, body: '', fields: nested(100_000) };
    const refused = queues.enqueue(action, request, raw);
    await expect(refused).rejects.toThrow(RangeError);
    await expect(refused).rejects.not.toBeInstanceOf(QueueUnavailableError);
    const odd = queues.enqueue(action, { ...request, receivedAt: 1n as unknown as string });
    await expect(odd).rejects.toThrow(TypeError);
    // Redis itself answers all along.
    await queues.ping();
  });

  it('Redis gone is QueueUnavailableError', async () => {
    const lost = createRedis(inject('redisUrl'), 'producer');
    lost.on('error', () => undefined);
    await new Promise<void>((resolve) => lost.once('ready', () => resolve()));
    const gone = new JobQueues(lost, { prefix: '{kat-gone}', timeoutMs: 500, dedupWindowMs: 0 });
    lost.disconnect();
    await expect(gone.ping()).rejects.toBeInstanceOf(QueueUnavailableError);
    await gone.close();
  });
});
