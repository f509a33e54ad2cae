import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JobData } from './jobs.ts';
import { createRedis, JobQueues } from './queues.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const spf = 'fa4d7f04-b8e0-4518-8dbc-2f24997ca76e';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

/** A render job's data as the receiver stored it under zou-session, before requests had a verified type. */
const storedRender = {
  request: {
    actionId: 'render-flamenco',
    personId: person,
    personEmail: 'kenji.sato@studio.example',
    projectId: spf,
    projectIds: [spf],
    identity: { mode: 'zou-session', role: 'supervisor' },
    taskIds: [task],
    entityType: 'shot',
    origin: { server: 'https://kitsu.studio.example', path: '/productions/spf/shots' },
    mode: 'ajax',
    receivedAt: '2026-01-02T03:04:05.000Z',
  },
  action: {
    id: 'render-flamenco',
    name: 'Render on Flamenco',
    kind: 'render.flamenco',
    entityType: 'shot',
    ajax: true,
    options: { blendfile: '{project}/shots/{shot}.blend', frames: '1-10' },
    report: { comment: true, statusOnSuccess: 'wfa' },
  },
  report: {
    state: 'posted',
    message: 'Commented on 1 of 1 task(s) in Kitsu.',
    commented: 1,
    at: '2026-01-02T03:05:00.000Z',
  },
};

/** The debug action's snapshot, as the debug jobs below stored it. */
const debugAction = {
  id: 'debug',
  name: 'Debug selection',
  kind: 'debug',
  entityType: 'shot',
  ajax: false,
  options: {},
};

/** A debug job as stored under AUTH_MODE=token: the person as the request named them, the raw request kept. */
const storedDebug = {
  request: {
    actionId: 'debug',
    personId: person,
    personEmail: 'someone@studio.example',
    identity: { mode: 'token' },
    taskIds: [task],
    entityType: 'episode',
    origin: {},
    mode: 'form',
    receivedAt: '2026-01-02T03:04:05.000Z',
  },
  action: debugAction,
  raw: {
    method: 'POST',
    url: '/actions/debug',
    headers: { host: 'actions.studio.example', 'content-type': 'application/x-www-form-urlencoded' },
    contentType: 'application/x-www-form-urlencoded',
    body: `personid=${person}&selection=${task}`,
    fields: { personid: person, selection: task },
  },
};

/** Older still: no `identity`, no `projectIds` (the selection was not checked with Kitsu). */
const storedBare = {
  request: {
    actionId: 'debug',
    personId: person,
    projectId: spf,
    taskIds: [task],
    entityType: 'shot',
    origin: {},
    mode: 'get',
    receivedAt: '2026-01-02T03:04:05.000Z',
  },
  action: debugAction,
};

describe('JobData of jobs already in Redis', () => {
  it.each([
    ['a zou-session render job', storedRender],
    ['a token debug job with its raw request', storedDebug],
    ['a job without identity or projectIds', storedBare],
  ])('%s still parses, field for field', (_name, stored) => {
    expect(JobData.parse(stored)).toEqual(stored);
  });

  it('a request bound to nobody is not job data', () => {
    const unbound: Partial<typeof storedDebug.request> = { ...storedDebug.request };
    delete unbound.personId;
    const parsed = JobData.safeParse({ ...storedDebug, request: unbound });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['request', 'personId']);
  });

  describe('read back from BullMQ', () => {
    const connection = createRedis(inject('redisUrl'), 'producer');
    const queues = new JobQueues(connection, {
      prefix: `{kat-${randomUUID().slice(0, 8)}}`,
      timeoutMs: 2000,
      dedupWindowMs: 0,
    });
    afterAll(async () => {
      await queues.close();
      connection.disconnect();
    });

    it('a job queued with the old data (and no index entry) shows who ran it and its productions', async () => {
      const id = `render-${randomUUID()}`;
      // Added as an older receiver did, straight to BullMQ: the status read parses the data to index it.
      await queues.queue('render').add('render.flamenco', storedRender, { jobId: id });
      const view = await queues.status(id);
      expect(view).toMatchObject({
        id,
        kind: 'render.flamenco',
        requestedBy: { personId: person, email: 'kenji.sato@studio.example' },
        projectIds: [spf],
      });
    });
  });
});
