import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { JobData, loadConfig, parseCatalogue } from '@kitsu-actions/shared';
import { freePort, spawnService, startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { checkCatalogueForAuth, trustWarning } from './deps.ts';
import { SessionCache } from './identity.ts';
import {
  kitsuOrigin,
  offlinePerson,
  offlineTask,
  startReceiver,
  startTokenReceiver,
  startZouReceiver,
  type ReceiverHarness,
} from '../test/harness.ts';

const catalogueYaml = (spf: string) => `
actions:
  - { id: debug, name: Debug selection, kind: debug }
  - { id: supervisors, name: Supervisors only, kind: debug, allow: { roles: [admin, supervisor] } }
  - { id: spf-only, name: Spring Festival only, kind: debug, allow: { projects: [${spf}] } }
  - { id: reported, name: Debug with a comment, kind: debug, report: { comment: true } }
`;

interface Sent {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function send(
  harness: ReceiverHarness,
  action: string,
  fields: Record<string, string>,
  options: {
    cookie?: string;
    bearer?: string;
    html?: boolean;
    query?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Sent> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: options.html === true ? 'text/html' : 'application/json',
    ...options.headers,
  };
  if (options.cookie !== undefined) {
    headers['Cookie'] = `access_token_cookie=${options.cookie}`;
    // A browser's form post from Kitsu carries Kitsu's origin (a cookie-authenticated POST without one is refused).
    headers['Origin'] ??= kitsuOrigin;
  }
  if (options.bearer !== undefined) headers['Authorization'] = `Bearer ${options.bearer}`;
  const response = await fetch(`${harness.baseUrl}/actions/${action}${options.query ?? ''}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  const text = await response.text();
  let body: Record<string, unknown> = { text };
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    body = JSON.parse(text) as Record<string, unknown>;
  }
  return { status: response.status, body, headers: response.headers };
}

function errorOf(sent: Sent): { code: string; message: string; details?: unknown } {
  return (sent.body as { error: { code: string; message: string; details?: unknown } }).error;
}

async function jobData(harness: ReceiverHarness, sent: Sent): Promise<JobData> {
  const jobId = sent.body['jobId'];
  const id =
    typeof jobId === 'string' ? jobId : ((sent.headers.get('location') ?? '').split('/').pop() ?? '');
  const found = await harness.queues.find(id);
  if (!found) throw new Error(`no job ${id}`);
  return JobData.parse(found.job.data);
}

describe('AUTH_MODE=zou-session', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let ids: FakeZou['seed']['ids'];
  let spf: string;
  let big: string;
  const token = (person: keyof FakeZou['seed']['ids']['persons']): string =>
    zou.control.issueToken(ids.persons[person]);
  const authenticatedCalls = (): number => zou.control.requests({ path: '/auth/authenticated' }).length;
  /** `person` sends `fields` with their session cookie: refused with `expected`, and nothing is queued. */
  const refusedAs = async (
    person: keyof FakeZou['seed']['ids']['persons'],
    fields: Record<string, string>,
    expected: { status: number; code: string },
    options: { action?: string; headers?: Record<string, string> } = {},
  ): Promise<Sent> => {
    const before = await harness.jobCount();
    const sent = await send(harness, options.action ?? 'debug', fields, {
      cookie: token(person),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
    expect(sent.status).toBe(expected.status);
    expect(errorOf(sent)).toMatchObject({ code: expected.code });
    expect(await harness.jobCount()).toBe(before);
    return sent;
  };

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({
      redisUrl: inject('redisUrl'),
      zou: { bigProject: { tasks: 3 } },
      catalogueYaml: (seed) => catalogueYaml(seed.ids.projects.spf),
    }));
    ids = zou.seed.ids;
    spf = ids.projects.spf;
    big = ids.projects.big ?? '';
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(() => harness.close());

  it('a valid session cookie: the session decides who asked, and the job records it', async () => {
    const cookie = token('artist');
    const sent = await send(
      harness,
      'debug',
      {
        personid: ids.persons.artist,
        personemail: 'someone.else@example.com',
        projectid: spf,
        selection: [ids.tasks.layoutSh010, ids.tasks.animationSh010].join(','),
        entitytype: 'shot',
      },
      { cookie, html: true },
    );
    expect(sent.status).toBe(303);
    const data = await jobData(harness, sent);
    const { request } = data;
    // The session is a credential: never stored with the job.
    expect(JSON.stringify(data)).not.toContain(cookie);
    expect(request).toMatchObject({
      personId: ids.persons.artist,
      personEmail: 'kenji.sato@studio.example',
      projectId: spf,
      projectIds: [spf],
      identity: { mode: 'zou-session', role: 'user' },
    });
  });

  it("refuses a session cookie sent from another site (cross-site request forgery), and accepts Kitsu's origin", async () => {
    const fields = { projectid: spf, selection: ids.tasks.layoutSh010, entitytype: 'shot' };
    const forged = await refusedAs(
      'artist',
      fields,
      { status: 403, code: 'cross_site_request' },
      { headers: { Origin: 'https://evil.example' } },
    );
    expect(errorOf(forged).message).toContain('https://evil.example');
    // A bearer token cannot be sent by another site without knowing it: no origin check.
    const bearer = await send(harness, 'debug', fields, {
      bearer: token('artist'),
      headers: { Origin: 'https://evil.example' },
    });
    expect(bearer.status).toBe(202);
    const fromKitsu = await send(harness, 'debug', fields, {
      cookie: token('artist'),
      headers: { Origin: 'https://kitsu.studio.example' },
    });
    expect(fromKitsu.status).toBe(202);
    const cancel = await fetch(`${harness.baseUrl}/jobs/${String(fromKitsu.body['jobId'])}/cancel`, {
      method: 'POST',
      headers: { Cookie: `access_token_cookie=${token('artist')}`, Origin: 'https://evil.example' },
    });
    expect(cancel.status).toBe(403);
  });

  it('end to end: a form request with a session cookie gets a debug page with the real Kitsu data', async () => {
    const sent = await send(
      harness,
      'debug',
      {
        personid: ids.persons.artist,
        projectid: spf,
        selection: ids.tasks.animationSh010,
        entitytype: 'shot',
      },
      { cookie: token('artist'), html: true },
    );
    expect(sent.status).toBe(303);
    const statusUrl = sent.headers.get('location') ?? '';
    const jobId = statusUrl.split('/').pop() ?? '';
    // Reads need the session too (issue 10).
    const headers = { Cookie: `access_token_cookie=${token('artist')}` };
    expect((await harness.waitForJob(jobId, { headers }))['state']).toBe('completed');
    const page = await (await fetch(`${statusUrl}/result`, { headers })).text();
    expect(page).toContain('Project: Spring Festival');
    expect(page).toContain('Task: Animation on E01 / SQ010 / SH010');
    expect(page).toContain(`<h3>Task <code>${ids.tasks.animationSh010}</code></h3>`);
    expect(page).toContain('<th>nb_frames</th>');
  });

  it('end to end: the selected tasks carry a comment linking to the job, shown on its status page', async () => {
    const task = ids.tasks.compositingSh010;
    const sent = await send(
      harness,
      'reported',
      { personid: ids.persons.lighter, projectid: spf, selection: task, entitytype: 'shot' },
      { cookie: token('lighter'), html: true },
    );
    const statusUrl = sent.headers.get('location') ?? '';
    const jobId = statusUrl.split('/').pop() ?? '';
    const headers = { Cookie: `access_token_cookie=${token('lighter')}` };
    expect((await harness.waitForJob(jobId, { headers }))['report']).toMatchObject({
      state: 'posted',
      commented: 1,
    });
    const comment = zou.state.comments.find((c) => c.text?.includes(statusUrl));
    expect(comment).toMatchObject({ object_id: task, person_id: ids.persons.bot });
    const page = await (await fetch(statusUrl, { headers: { Accept: 'text/html', ...headers } })).text();
    expect(page).toMatch(
      /<th>Kitsu comment<\/th>\s*<td id="report" class="">\s*Commented on 1 of 1 task\(s\) in Kitsu\./,
    );
  });

  it('the session token as a bearer works too, and a request naming nobody takes the session person', async () => {
    const sent = await send(
      harness,
      'debug',
      { selection: ids.tasks.lightingSh010, entitytype: 'shot' },
      { bearer: token('lighter') },
    );
    expect(sent.status).toBe(202);
    const { request } = await jobData(harness, sent);
    expect(request.personId).toBe(ids.persons.lighter);
    // No production in the request (a "My tasks" page): derived from the tasks.
    expect(request.projectId).toBe(spf);
  });

  it('a forged personid is refused with 403 and nothing is queued', async () => {
    const sent = await refusedAs(
      'artist',
      { personid: ids.persons.supervisor, projectid: spf, selection: ids.tasks.layoutSh010 },
      { status: 403, code: 'identity_mismatch' },
    );
    expect(errorOf(sent).message).toMatch(
      new RegExp(`the request says .*${ids.persons.supervisor} but the Kitsu session is Kenji Sato`, 'i'),
    );
  });

  it('no session: 401 with what to do, as a page for browsers', async () => {
    const before = await harness.jobCount();
    const json = await send(harness, 'debug', {
      personid: ids.persons.artist,
      selection: ids.tasks.layoutSh010,
    });
    expect(json.status).toBe(401);
    expect(errorOf(json)).toMatchObject({ code: 'not_authenticated' });
    expect(errorOf(json).message).toMatch(/log in/i);
    expect(json.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const page = await send(
      harness,
      'debug',
      { personid: ids.persons.artist, selection: ids.tasks.layoutSh010 },
      { html: true },
    );
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/html/);
    expect(String(page.body['text'])).toMatch(/no access_token_cookie cookie/);
    expect(await harness.jobCount()).toBe(before);
  });

  it('a malformed (422), forged or expired session is refused like a missing one', async () => {
    const fields = { personid: ids.persons.artist, selection: ids.tasks.layoutSh010 };
    const real = token('artist');
    const [header, payload] = real.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    const expired = zou.control.issueToken(ids.persons.artist, { ttlMs: -1000 });
    for (const cookie of ['not-a-jwt', forged, expired]) {
      const sent = await send(harness, 'debug', fields, { cookie });
      expect(sent.status, cookie).toBe(401);
    }
    const refused = await send(harness, 'debug', fields, { cookie: forged });
    expect(errorOf(refused)).toMatchObject({ code: 'session_refused' });
    expect(errorOf(refused).message).toMatch(/Signature verification failed/);
  });

  it('asks Kitsu once for a session seen a moment ago', async () => {
    const cookie = token('supervisor');
    const before = authenticatedCalls();
    for (let i = 0; i < 3; i += 1) {
      const sent = await send(
        harness,
        'debug',
        { personid: ids.persons.supervisor, projectid: spf, selection: ids.tasks.compositingSh010 },
        { cookie },
      );
      expect(sent.status).toBe(202);
    }
    expect(authenticatedCalls() - before).toBe(1);
  });

  it('a person outside the project is refused with 403 and nothing is queued', async () => {
    const sent = await refusedAs(
      'outsider',
      { personid: ids.persons.outsider, projectid: spf, selection: ids.tasks.layoutSh010 },
      { status: 403, code: 'project_not_visible' },
    );
    // The production is not named to someone not on its team (issue 10).
    expect(errorOf(sent).message).toMatch(/Tom Novak \(user\) is not on the team of the production of task/);
    expect(errorOf(sent).message).not.toContain('Spring Festival');
    expect(JSON.stringify(sent.body)).not.toContain(spf);
    expect(errorOf(sent).message).toContain(ids.tasks.layoutSh010);
    expect(errorOf(sent).details).toEqual({ tasks: [ids.tasks.layoutSh010] });
  });

  it('admins see every project, team or not', async () => {
    const sent = await send(
      harness,
      'debug',
      { personid: ids.persons.admin, projectid: spf, selection: ids.tasks.modelingMei },
      { cookie: token('admin') },
    );
    expect(sent.status).toBe(202);
  });

  it('vendors only reach the tasks assigned to them', async () => {
    const cookie = token('vendor');
    const own = await send(
      harness,
      'debug',
      { personid: ids.persons.vendor, projectid: spf, selection: ids.tasks.vendorCompositing },
      { cookie },
    );
    expect(own.status).toBe(202);
    const refused = await refusedAs(
      'vendor',
      {
        personid: ids.persons.vendor,
        projectid: spf,
        selection: [ids.tasks.vendorCompositing, ids.tasks.layoutSh010].join(','),
      },
      { status: 403, code: 'task_not_visible' },
    );
    // Only the task not theirs is named.
    expect(errorOf(refused).details).toEqual({ tasks: [ids.tasks.layoutSh010] });
    expect(errorOf(refused).message).toMatch(
      new RegExp(
        `Ravi Menon \\(vendor\\) is a vendor .*; task ${ids.tasks.layoutSh010} is not assigned to them`,
      ),
    );
  });

  it('a task from another project is refused, naming it', async () => {
    const bigTask = ids.tasks.big[0] ?? '';
    const sent = await refusedAs(
      'manager',
      {
        personid: ids.persons.manager,
        projectid: big,
        selection: [bigTask, ids.tasks.animationSh010].join(','),
      },
      { status: 400, code: 'task_outside_project' },
    );
    expect(errorOf(sent).message).toContain(ids.tasks.animationSh010);
    expect(errorOf(sent).message).toContain('"Spring Festival"');
    expect(errorOf(sent).message).not.toContain(bigTask);
    expect(errorOf(sent).details).toEqual({ tasks: [ids.tasks.animationSh010], projectId: big });
  });

  it('a task from another project the person is not on is refused without naming that production', async () => {
    const bigTask = ids.tasks.big[0] ?? '';
    const sent = await refusedAs(
      'supervisor',
      {
        personid: ids.persons.supervisor,
        projectid: spf,
        selection: [ids.tasks.animationSh010, bigTask].join(','),
      },
      { status: 400, code: 'task_outside_project' },
    );
    expect(errorOf(sent).message).toContain(
      `Task ${bigTask} belongs to a production you are not on the team of`,
    );
    expect(errorOf(sent).message).not.toContain('Big Show');
    expect(errorOf(sent).details).toEqual({ tasks: [bigTask], projectId: spf });
  });

  it('a large selection is read from the production task list, not task by task', async () => {
    // A Kitsu and a receiver of their own: no worker reads Kitsu at the same time.
    const ownZou = await startFakeZou({ bigProject: { tasks: 3 } });
    onTestFinished(() => ownZou.close());
    const taskReads = (): number =>
      ownZou.control.requests({ method: 'GET', path: /^\/data\/tasks\/[^/]+$/ }).length;
    const quiet = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { AUTH_MODE: 'zou-session', KITSU_URL: ownZou.url, KITSU_BOT_TOKEN: ownZou.seed.botToken },
    });
    onTestFinished(() => quiet.close());
    const cookie = ownZou.control.issueToken(ids.persons.supervisor);
    const before = taskReads();
    const all = await send(
      quiet,
      'debug',
      { personid: ids.persons.supervisor, projectid: spf, selection: ids.tasks.spf.join(',') },
      { cookie },
    );
    expect(all.status).toBe(202);
    expect(taskReads() - before).toBe(0);
    // One task of another production among them: read on its own, and named.
    const bigTask = ids.tasks.big[2] ?? '';
    const mixed = await send(
      quiet,
      'debug',
      { personid: ids.persons.supervisor, projectid: spf, selection: [...ids.tasks.spf, bigTask].join(',') },
      { cookie },
    );
    expect(mixed.status).toBe(400);
    expect(errorOf(mixed).message).toContain(bigTask);
    expect(taskReads() - before).toBe(1);
  });

  it('a large selection whose production the bot cannot list is read task by task', async () => {
    const ownZou = await startFakeZou();
    onTestFinished(() => ownZou.close());
    const taskReads = (): number =>
      ownZou.control.requests({ method: 'GET', path: /^\/data\/tasks\/[^/]+$/ }).length;
    const quiet = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { AUTH_MODE: 'zou-session', KITSU_URL: ownZou.url, KITSU_BOT_TOKEN: ownZou.seed.botToken },
    });
    onTestFinished(() => quiet.close());
    // A production Kitsu does not have: its task list is a 404, so every task is read on its own.
    const elsewhere = randomUUID();
    const sent = await send(
      quiet,
      'debug',
      { personid: ids.persons.supervisor, projectid: elsewhere, selection: ids.tasks.spf.join(',') },
      { cookie: ownZou.control.issueToken(ids.persons.supervisor) },
    );
    expect(sent.status).toBe(400);
    expect(errorOf(sent)).toMatchObject({ code: 'task_outside_project' });
    expect(errorOf(sent).message).toContain(elsewhere);
    expect(taskReads()).toBe(ids.tasks.spf.length);
    expect(await quiet.jobCount()).toBe(0);
  });

  it('a task Kitsu does not know is refused, naming it', async () => {
    const unknown = randomUUID();
    const sent = await refusedAs(
      'manager',
      {
        personid: ids.persons.manager,
        projectid: spf,
        selection: [ids.tasks.layoutSh010, unknown].join(','),
      },
      { status: 400, code: 'unknown_tasks' },
    );
    expect(errorOf(sent).message).toContain(unknown);
    expect(errorOf(sent).details).toEqual({ tasks: [unknown] });
  });

  it('a task the bot may not read is refused (the selection cannot be checked)', async () => {
    // The bot is not on Moon Garden's team; the manager is.
    const refused = await refusedAs(
      'manager',
      { personid: ids.persons.manager, selection: ids.tasks.moon[0] ?? '' },
      { status: 403, code: 'tasks_not_readable' },
    );
    expect(errorOf(refused).details).toEqual({ tasks: [ids.tasks.moon[0]] });
    expect(errorOf(refused).message).toMatch(
      /^The kitsu-actions bot may not read task .* A Kitsu admin must add the bot/,
    );
  });

  it('allow.roles: a role not listed is refused with 403; a listed one runs', async () => {
    const fields = (person: string) => ({
      personid: person,
      projectid: spf,
      selection: ids.tasks.lightingSh010,
    });
    const refused = await refusedAs(
      'artist',
      fields(ids.persons.artist),
      { status: 403, code: 'role_not_allowed' },
      { action: 'supervisors' },
    );
    expect(errorOf(refused).message).toMatch(/is for admin, supervisor; Kenji Sato \(user\) may not run it/);
    expect(errorOf(refused).details).toEqual({ roles: ['admin', 'supervisor'], role: 'user' });
    const allowed = await send(harness, 'supervisors', fields(ids.persons.supervisor), {
      cookie: token('supervisor'),
    });
    expect(allowed.status).toBe(202);
  });

  it('allow.projects: tasks of another production are refused with 403', async () => {
    const refused = await refusedAs(
      'manager',
      { personid: ids.persons.manager, selection: ids.tasks.big[1] ?? '' },
      { status: 403, code: 'project_not_allowed' },
      { action: 'spf-only' },
    );
    expect(errorOf(refused).message).toContain(big);
    expect(errorOf(refused).details).toEqual({ projects: [big] });
    const allowed = await send(
      harness,
      'spf-only',
      { personid: ids.persons.manager, selection: ids.tasks.riggingMei },
      { cookie: token('manager') },
    );
    expect(allowed.status).toBe(202);
  });

  it('Kitsu unreachable: 503 at once, nothing queued', async () => {
    const cookie = token('lighter');
    const before = await harness.jobCount();
    await zou.control.refuseConnections();
    try {
      const sent = await send(
        harness,
        'debug',
        { personid: ids.persons.lighter, selection: ids.tasks.lightingSh010 },
        { cookie },
      );
      expect(sent.status).toBe(503);
      expect(errorOf(sent)).toMatchObject({ code: 'kitsu_unavailable' });
    } finally {
      await zou.control.acceptConnections();
    }
    expect(await harness.jobCount()).toBe(before);
  });
});

describe('AUTH_MODE=token', () => {
  const secret = 'a-long-shared-secret-for-tests';
  let harness: ReceiverHarness;
  const fields = { personid: offlinePerson, selection: offlineTask, entitytype: 'asset' };
  beforeAll(async () => {
    harness = await startTokenReceiver({
      redisUrl: inject('redisUrl'),
      secret,
      // `debug` is also served on GET here (method: get), for the token in a GET's query.
      catalogueYaml: [
        'actions:',
        '  - { id: debug, name: Debug selection, kind: debug, method: get }',
        '  - { id: post-only, name: Post only, kind: debug }',
        '',
      ].join('\n'),
    });
  });
  afterAll(() => harness.close());

  it('refuses a request without the token, or with a wrong one, and queues nothing', async () => {
    const before = await harness.jobCount();
    const missing = await send(harness, 'debug', fields);
    expect(missing.status).toBe(401);
    expect(errorOf(missing)).toMatchObject({ code: 'token_required' });
    const wrong = await send(harness, 'debug', fields, { query: '?token=not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong)).toMatchObject({ code: 'token_refused' });
    const twoDifferent = await send(harness, 'debug', fields, {
      query: `?token=${secret}`,
      headers: { 'X-Kitsu-Actions-Token': 'another' },
    });
    expect(twoDifferent.status).toBe(401);
    expect(await harness.jobCount()).toBe(before);
  });

  it('answers in the order of its checks: body, action, method, caller, then the fields', async () => {
    const before = await harness.jobCount();
    const post = (path: string, body: string, token?: string): Promise<Response> =>
      fetch(`${harness.baseUrl}${path}${token === undefined ? '' : `?token=${token}`}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body,
      });
    const codeOf = async (response: Response): Promise<[number, string]> => [
      response.status,
      ((await response.json()) as { error: { code: string } }).error.code,
    ];
    // An unreadable body and an unknown action are answered before anyone is asked who is calling.
    expect(await codeOf(await post('/actions/debug', '{"selection": ['))).toEqual([400, 'malformed_json']);
    expect(await codeOf(await post('/actions/nope', JSON.stringify(fields)))).toEqual([
      404,
      'unknown_action',
    ]);
    expect(await codeOf(await fetch(`${harness.baseUrl}/actions/post-only`))).toEqual([
      405,
      'method_not_allowed',
    ]);
    // Then the caller, before what the fields say (nothing in them is read for a stranger).
    const noSelection = JSON.stringify({ personid: fields.personid });
    expect(await codeOf(await post('/actions/debug', noSelection))).toEqual([401, 'token_required']);
    expect(await codeOf(await post('/actions/debug', noSelection, 'wrong'))).toEqual([401, 'token_refused']);
    expect(await codeOf(await fetch(`${harness.baseUrl}/actions/debug`))).toEqual([401, 'token_required']);
    expect(await codeOf(await post('/actions/debug', noSelection, secret))).toEqual([400, 'empty_selection']);
    expect(await codeOf(await post('/actions/debug', '{}', secret))).toEqual([400, 'missing_field']);
    // Job reads: the token (or a job's link) first, then the query.
    const list = (query: string): Promise<Response> =>
      fetch(`${harness.baseUrl}/jobs${query}`, { headers: { Accept: 'application/json' } });
    expect(await codeOf(await list('?state=bogus'))).toEqual([401, 'capability_required']);
    expect(await codeOf(await list('?state=bogus&token=wrong'))).toEqual([401, 'token_refused']);
    expect(await codeOf(await list(`?state=bogus&token=${secret}`))).toEqual([400, 'invalid_query']);
    expect(await harness.jobCount()).toBe(before);
  });

  it('accepts it in the query or a header, and never stores it with the job', async () => {
    const inQuery = await send(harness, 'debug', fields, { query: `?a=1&token=${secret}&b=2` });
    expect(inQuery.status).toBe(202);
    const inHeader = await send(harness, 'debug', fields, { headers: { 'X-Kitsu-Actions-Token': secret } });
    expect(inHeader.status).toBe(202);
    const query = new URLSearchParams({ ...fields, token: secret }).toString();
    const viaGet = await fetch(`${harness.baseUrl}/actions/debug?${query}`);
    expect(viaGet.status).toBe(202);
    const asGet = (await viaGet.json()) as Record<string, unknown>;
    for (const sent of [inQuery, inHeader, { status: 202, body: asGet, headers: new Headers() }]) {
      const data = await jobData(harness, sent);
      expect(data.request.identity).toEqual({ mode: 'token' });
      expect(JSON.stringify(data)).not.toContain(secret);
      expect(data.raw?.fields).not.toHaveProperty('token');
    }
    const first = await jobData(harness, inQuery);
    expect(first.raw?.url).toBe('/actions/debug?a=1&b=2');
  });
});

describe('AUTH_MODE=none and start-up', () => {
  it('none is chosen silently only without Kitsu, and warned about', () => {
    expect(trustWarning(loadConfig({}))).toMatch(/AUTH_MODE is not set .* requests are trusted as sent/);
    expect(trustWarning(loadConfig({ AUTH_MODE: 'none' }))).toMatch(
      /^AUTH_MODE=none: requests are trusted as sent/,
    );
    expect(trustWarning(loadConfig({ AUTH_MODE: 'token', ACTIONS_TOKEN: 'x'.repeat(16) }))).toBeUndefined();
  });

  it('allow.roles needs zou-session: another mode stops the start-up, naming the action', () => {
    const catalogue = parseCatalogue(
      'actions:\n  - { id: sup, name: Sup, kind: debug, allow: { roles: [supervisor] } }\n',
      'actions.yaml',
    );
    const config = loadConfig({ AUTH_MODE: 'none' });
    expect(() => checkCatalogueForAuth(catalogue, config)).toThrow(
      /actions\[0\]\.allow\.roles: "sup" .*zou-session/,
    );
  });

  it('a catalogue built without that check: allow.roles under another mode is refused (role_unknown)', async () => {
    const harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml: 'actions:\n  - { id: sup, name: Sup, kind: debug, allow: { roles: [supervisor] } }\n',
    });
    onTestFinished(() => harness.close());
    const sent = await send(harness, 'sup', { personid: offlinePerson, selection: offlineTask });
    expect(sent.status).toBe(403);
    expect(errorOf(sent)).toMatchObject({ code: 'role_unknown' });
    expect(errorOf(sent).message).toMatch(
      /limited to the roles supervisor.*AUTH_MODE=none; only zou-session/,
    );
    expect(await harness.jobCount()).toBe(0);
  });

  it('allow.projects: a request that names no production is refused, and one that names an allowed one runs', async () => {
    const allowed = randomUUID();
    const harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml: `actions:\n  - { id: one, name: One show, kind: debug, allow: { projects: [${allowed}] } }\n`,
    });
    onTestFinished(() => harness.close());
    const fields = { personid: offlinePerson, selection: offlineTask };
    const none = await send(harness, 'one', fields);
    expect(none.status).toBe(403);
    expect(errorOf(none)).toMatchObject({ code: 'project_not_allowed' });
    expect(errorOf(none).message).toMatch(/limited to some productions, and the request names none/);
    expect(await harness.jobCount()).toBe(0);
    expect((await send(harness, 'one', { ...fields, projectid: allowed })).status).toBe(202);
  });

  it('the receiver warns at start that requests are trusted as sent', async () => {
    const receiver = spawnService('apps/receiver/src/main.ts', {
      REDIS_URL: inject('redisUrl'),
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      QUEUE_PREFIX: `{kat-${randomUUID().slice(0, 8)}}`,
    });
    try {
      await receiver.waitFor(/receiver listening/);
      expect(receiver.output()).toMatch(/"level":40.*requests are trusted as sent/);
    } finally {
      await receiver.stop();
    }
  });
});

describe('session cache', () => {
  const jwt = (exp: number | undefined): string =>
    `h.${Buffer.from(JSON.stringify(exp === undefined ? {} : { exp })).toString('base64url')}.s`;
  const person = { id: randomUUID(), first_name: 'A', last_name: 'B', role: 'user' as const };

  it('keeps an answer for its TTL, never past the token expiry, and a bounded number of them', () => {
    let now = 1_000_000;
    const cache = new SessionCache(30_000, 2, () => now);
    const shortLived = jwt(now / 1000 + 5);
    cache.set(shortLived, person);
    const noExpiry = jwt(undefined);
    cache.set(noExpiry, person);
    now += 6000;
    expect(cache.get(shortLived)).toBeUndefined();
    expect(cache.get(noExpiry)).toEqual(person);
    now += 25_000;
    expect(cache.get(noExpiry)).toBeUndefined();
    cache.set(jwt(undefined), person);
    const kept = [jwt(now / 1000 + 60), jwt(now / 1000 + 61)];
    for (const token of kept) cache.set(token, person);
    expect(cache.size).toBe(2);
    // A token already past its expiry is not cached, so it pushes no live session out.
    cache.set(jwt(now / 1000 - 1), person);
    expect(cache.size).toBe(2);
    for (const token of kept) expect(cache.get(token)).toEqual(person);
  });
});
