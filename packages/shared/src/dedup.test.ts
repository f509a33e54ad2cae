import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCatalogue, type CatalogueAction } from './catalogue.ts';
import type { VerifiedRequest } from './kitsu-request.ts';
import { createRedis, JobQueues } from './queues.ts';

// Two actions of one kind: their jobs share a queue, so only the key itself tells their clicks apart.
const catalogue = parseCatalogue(
  'actions:\n  - { id: debug, name: Debug, kind: debug }\n  - { id: again, name: Debug again, kind: debug }\n',
  'test',
);

function actionOf(id: string): CatalogueAction {
  const action = catalogue.actions.find((entry) => entry.id === id);
  if (action === undefined) throw new Error(`no action ${id}`);
  return action;
}

describe('double-click key: person, action, project and tasks', () => {
  const connection = createRedis(inject('redisUrl'), 'producer');
  connection.on('error', () => undefined);
  const queues = new JobQueues(connection, {
    prefix: `{kat-${randomUUID().slice(0, 8)}}`,
    timeoutMs: 2000,
    dedupWindowMs: 60_000,
  });
  beforeAll(async () => {
    // The connection may be ready already: it was opened when the suite was collected.
    if (connection.status === 'ready') return;
    await new Promise<void>((resolve) => connection.once('ready', () => resolve()));
  });
  afterAll(async () => {
    await queues.close();
    connection.disconnect();
  });

  const clickOf = (): VerifiedRequest => ({
    actionId: 'debug',
    personId: randomUUID(),
    projectId: randomUUID(),
    taskIds: [randomUUID(), randomUUID()],
    entityType: 'shot',
    origin: {},
    mode: 'ajax',
    receivedAt: new Date().toISOString(),
  });

  it('the same click twice is one job', async () => {
    const click = clickOf();
    const first = await queues.enqueue(actionOf('debug'), click);
    const second = await queues.enqueue(actionOf('debug'), {
      ...click,
      taskIds: [...click.taskIds].reverse(),
    });
    expect(first.deduplicated).toBe(false);
    expect(second).toEqual({ id: first.id, deduplicated: true });
  });

  it('another action on the same selection is another job', async () => {
    const click = clickOf();
    const first = await queues.enqueue(actionOf('debug'), click);
    const other = await queues.enqueue(actionOf('again'), { ...click, actionId: 'again' });
    expect(other.deduplicated).toBe(false);
    expect(other.id).not.toBe(first.id);
  });

  it('the same tasks from another production, or from none, are other jobs', async () => {
    const click = clickOf();
    const first = await queues.enqueue(actionOf('debug'), click);
    const elsewhere = await queues.enqueue(actionOf('debug'), { ...click, projectId: randomUUID() });
    const noProject: VerifiedRequest = { ...click };
    delete noProject.projectId;
    const nowhere = await queues.enqueue(actionOf('debug'), noProject);
    expect([elsewhere.deduplicated, nowhere.deduplicated]).toEqual([false, false]);
    expect(new Set([first.id, elsewhere.id, nowhere.id]).size).toBe(3);
  });
});
