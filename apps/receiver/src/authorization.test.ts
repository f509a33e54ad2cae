import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCatalogue, type CatalogueAction, type VerifiedRequest } from '@kitsu-actions/shared';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient, Person, ZouError } from '@kitsu-actions/zou';
import {
  createAuthorizer,
  projectListThreshold,
  ProjectDirectory,
  zouShareOfRequest,
} from './authorization.ts';
import type { Caller } from './identity.ts';
import { refusalOf, rejectionOf } from '../test/rejection.ts';

// The authorizer itself, against a fake Zou of its own (so every call it logs is the authorizer's):
// what it asks Kitsu, what it refuses, and how the refusals read.

let zou: FakeZou;
beforeAll(async () => {
  // Big Show (manager, bot) is a production the bot reads and the supervisor is not on.
  zou = await startFakeZou({ bigProject: { tasks: 3 } });
});
afterAll(async () => {
  await zou.close();
});
beforeEach(() => {
  zou.control.clearFaults();
});

const ids = () => zou.seed.ids;
const authorizer = () => {
  const client = createZouClient({ baseUrl: zou.url, auth: { token: zou.seed.botToken }, retries: 0 });
  return createAuthorizer({ zou: client, projects: new ProjectDirectory(client, 0) });
};
const person = (key: 'admin' | 'manager' | 'supervisor' | 'artist' | 'vendor'): Person =>
  Person.parse(zou.state.persons.get(ids().persons[key]));
const session = (who: Person): Caller => ({ mode: 'zou-session', person: who });
const action = (yaml = '{ id: go, name: Go, kind: debug }'): CatalogueAction =>
  parseCatalogue(`actions:\n  - ${yaml}\n`, 'test').actions[0] as CatalogueAction;
const request = (caller: Person, taskIds: string[], projectId?: string): VerifiedRequest => ({
  actionId: 'go',
  personId: caller.id,
  taskIds,
  entityType: 'shot',
  origin: {},
  mode: 'ajax',
  receivedAt: new Date().toISOString(),
  ...(projectId === undefined ? {} : { projectId }),
});
const taskReads = () => zou.control.requests({ method: 'GET', path: /\/data\/tasks\/[^/]+$/ }).length;
const listReads = () =>
  zou.control.requests({ method: 'GET', path: /\/data\/projects\/[^/]+\/tasks$/ }).length;
const refusal = refusalOf;

describe('refusals name what to fix', () => {
  it('names at most five ids, comma-separated, and counts the rest', async () => {
    const elsewhere = Array.from({ length: 7 }, () => randomUUID());
    const limited = action(`{ id: go, name: Go, kind: debug, allow: { projects: [${randomUUID()}] } }`);
    const sent = (projectIds: string[]) => ({
      ...request(person('artist'), [ids().tasks.layoutSh010]),
      projectIds,
    });
    const many = await refusal(authorizer().authorize(limited, sent(elsewhere), { mode: 'token' }));
    expect(many).toMatchObject({
      status: 403,
      code: 'project_not_allowed',
      details: { projects: elsewhere },
    });
    expect(many.message).toBe(
      `"Go" may not run on production ${elsewhere.slice(0, 5).join(', ')} and 2 more. Nothing was queued.`,
    );
    const five = elsewhere.slice(0, 5);
    const exact = await refusal(authorizer().authorize(limited, sent(five), { mode: 'token' }));
    expect(exact.message).toBe(`"Go" may not run on production ${five.join(', ')}. Nothing was queued.`);
  });

  it("names a person by Kitsu's full name, or first and last name when Kitsu has none", async () => {
    const limited = action('{ id: go, name: Go, kind: debug, allow: { roles: [supervisor, manager] } }');
    const artist = person('artist');
    const plain = { ...artist, first_name: 'Kenji', last_name: 'Sato' };
    delete plain.full_name;
    const named = { ...artist, full_name: 'K. Sato (compositing)' };
    const task = ids().tasks.layoutSh010;
    const byParts = await refusal(authorizer().authorize(limited, request(plain, [task]), session(plain)));
    expect(byParts).toMatchObject({
      code: 'role_not_allowed',
      details: { roles: ['supervisor', 'manager'], role: 'user' },
    });
    expect(byParts.message).toBe(
      '"Go" is for supervisor, manager; Kenji Sato (user) may not run it. Nothing was queued.',
    );
    const byFullName = await refusal(authorizer().authorize(limited, request(named, [task]), session(named)));
    expect(byFullName.message).toContain('; K. Sato (compositing) (user) may not run it.');
  });

  it('roles under a mode that cannot tell them name every role of the action', async () => {
    const limited = action('{ id: go, name: Go, kind: debug, allow: { roles: [supervisor, manager] } }');
    const problem = await refusal(
      authorizer().authorize(limited, request(person('artist'), [ids().tasks.layoutSh010]), {
        mode: 'token',
      }),
    );
    expect(problem).toMatchObject({ code: 'role_unknown' });
    expect(problem.message).toContain(
      'limited to the roles supervisor, manager, and this receiver cannot tell roles',
    );
  });

  it("a selection over productions some of which the person is not on names that production's tasks only", async () => {
    const supervisor = person('supervisor');
    const [spfTask, moonTask] = [ids().tasks.spf[0] ?? '', ids().tasks.big[1] ?? ''];
    const problem = await refusal(
      authorizer().authorize(action(), request(supervisor, [spfTask, moonTask]), session(supervisor)),
    );
    expect(problem).toMatchObject({
      status: 403,
      code: 'project_not_visible',
      details: { tasks: [moonTask] },
    });
    expect(problem.message).toContain(`of the production of task ${moonTask}, so Kitsu`);
    expect(problem.message).not.toContain('Big Show');
  });

  it('a task of a production the bot cannot read is outside the production, and says so even to an admin', async () => {
    const admin = person('admin');
    const spfTask = ids().tasks.layoutSh010;
    zou.control.failNext(1, 404, { path: `/data/projects/${ids().projects.spf}` });
    const problem = await refusal(
      authorizer().authorize(action(), request(admin, [spfTask], ids().projects.moon), session(admin)),
    );
    expect(problem).toMatchObject({ status: 400, code: 'task_outside_project' });
    expect(problem.message).toContain(
      `Task ${spfTask} belongs to a production the kitsu-actions bot cannot read,`,
    );
  });
});

describe('what the authorizer asks Kitsu', () => {
  it('tasks of several productions are each checked, and the request then names no single production', async () => {
    const manager = person('manager');
    const [spfTask, moonTask] = [ids().tasks.spf[0] ?? '', ids().tasks.big[0] ?? ''];
    const checked = await authorizer().authorize(
      action(),
      request(manager, [spfTask, moonTask]),
      session(manager),
    );
    expect(checked.projectIds).toEqual([ids().projects.spf, ids().projects.big]);
    expect(checked).not.toHaveProperty('projectId');
    const one = await authorizer().authorize(action(), request(manager, [moonTask]), session(manager));
    expect(one).toMatchObject({ projectIds: [ids().projects.big], projectId: ids().projects.big });
  });

  it('a task read that fails is a failure, not a refusal, and no further task is read', async () => {
    const manager = person('manager');
    const before = taskReads();
    zou.control.failNext(1, 500, { path: /\/data\/tasks\/[^/]+$/ });
    const error = await rejectionOf(
      authorizer().authorize(action(), request(manager, ids().tasks.spf.slice(0, 20)), session(manager)),
    );
    expect(error).toBeInstanceOf(ZouError);
    expect(error).toMatchObject({ status: 500 });
    // The lane that failed stops the others: what was under way ends, and nothing new starts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(taskReads() - before).toBeLessThanOrEqual(zouShareOfRequest + 1);
  });

  it(`past ${projectListThreshold} tasks of the request's production, reads its task list, not each task`, async () => {
    const supervisor = person('supervisor');
    const spf = ids().projects.spf;
    const [tasks, lists] = [taskReads(), listReads()];
    const checked = await authorizer().authorize(
      action(),
      request(supervisor, ids().tasks.spf, spf),
      session(supervisor),
    );
    expect(checked).toMatchObject({ projectId: spf, projectIds: [spf], taskIds: ids().tasks.spf });
    expect([taskReads() - tasks, listReads() - lists]).toEqual([0, 1]);
  });

  it(`${projectListThreshold} tasks or fewer, or no production named, are read task by task`, async () => {
    const supervisor = person('supervisor');
    const spf = ids().projects.spf;
    const threshold = ids().tasks.spf.slice(0, projectListThreshold);
    const cases: [string[], string | undefined][] = [
      [threshold, spf],
      [ids().tasks.spf, undefined],
      [ids().tasks.spf.slice(0, 3), spf],
    ];
    for (const [selection, projectId] of cases) {
      const [tasks, lists] = [taskReads(), listReads()];
      await authorizer().authorize(action(), request(supervisor, selection, projectId), session(supervisor));
      expect([taskReads() - tasks, listReads() - lists]).toEqual([selection.length, 0]);
    }
  });

  it('a task list the bot may not read (403) or that Kitsu has not (404) falls back to task by task', async () => {
    const supervisor = person('supervisor');
    const spf = ids().projects.spf;
    for (const status of [403, 404]) {
      zou.control.failNext(1, status, { path: /\/data\/projects\/[^/]+\/tasks$/ });
      const tasks = taskReads();
      const checked = await authorizer().authorize(
        action(),
        request(supervisor, ids().tasks.spf, spf),
        session(supervisor),
      );
      expect(checked.projectIds).toEqual([spf]);
      expect(taskReads() - tasks).toBe(ids().tasks.spf.length);
    }
  });

  it('a task list that fails otherwise is a failure', async () => {
    const supervisor = person('supervisor');
    zou.control.failNext(1, 500, { path: /\/data\/projects\/[^/]+\/tasks$/ });
    const error = await rejectionOf(
      authorizer().authorize(
        action(),
        request(supervisor, ids().tasks.spf, ids().projects.spf),
        session(supervisor),
      ),
    );
    expect(error).toMatchObject({ name: 'ZouError', status: 500 });
  });

  it('without a Kitsu session, nothing is asked of Kitsu and the request is taken as it came', async () => {
    const sent = request(person('artist'), [ids().tasks.layoutSh010]);
    const before = zou.control.requests().length;
    for (const caller of [{ mode: 'token' }, { mode: 'none' }] as const) {
      expect(await authorizer().authorize(action(), sent, caller)).toEqual(sent);
    }
    expect(await createAuthorizer(undefined).authorize(action(), sent, session(person('artist')))).toEqual(
      sent,
    );
    expect(zou.control.requests().length).toBe(before);
  });
});
