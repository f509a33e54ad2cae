import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  onTestFinished,
} from 'vitest';
import { QueueEvents, Worker } from 'bullmq';
import { createRedis, JobState, sortableTablesSource } from '@kitsu-actions/shared';
import {
  catalogueFixture,
  recordingLogger,
  type FakeZou,
  type HumanKey,
  type LogLine,
} from '@kitsu-actions/testing';
import {
  kitsuOrigin,
  offlinePerson,
  offlineTask,
  startReceiver,
  startTokenReceiver,
  startZouReceiver,
  type ReceiverHarness,
} from '../test/harness.ts';

// Issue 10: job pages behind identity (item 1), absolute links (item 11), one vocabulary of states and
// attempts that are right while a job runs (item 12).

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  location: string;
}

async function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers: {
      Accept: 'application/json',
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: new URLSearchParams(options.body).toString() }),
    redirect: 'manual',
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json');
  return {
    status: response.status,
    body: json ? (JSON.parse(text) as Record<string, unknown>) : {},
    text,
    location: response.headers.get('location') ?? '',
  };
}

const idsOf = (answer: Answer): string[] =>
  ((answer.body['jobs'] ?? []) as Array<{ id: string }>).map((job) => job.id).sort();

describe('AUTH_MODE=zou-session: who reads which job', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  const jobs: Record<'artist' | 'lighter' | 'manager' | 'vendor', string> = {
    artist: '',
    lighter: '',
    manager: '',
    vendor: '',
  };
  const session = (person: HumanKey): Record<string, string> => ({
    Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons[person])}`,
  });

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({
      redisUrl: inject('redisUrl'),
      zou: { bigProject: { tasks: 3 } },
    }));
    const { ids } = zou.seed;
    // No worker: the jobs stay queued, which is all reading them needs.
    const run = async (person: keyof typeof jobs, project: string, task: string): Promise<void> => {
      const sent = await request(`${harness.baseUrl}/actions/debug`, {
        method: 'POST',
        headers: { ...session(person), Origin: kitsuOrigin },
        body: { personid: ids.persons[person], projectid: project, selection: task },
      });
      expect(sent.status).toBe(202);
      jobs[person] = String(sent.body['jobId']);
    };
    await run('artist', ids.projects.spf, ids.tasks.layoutSh010);
    await run('lighter', ids.projects.spf, ids.tasks.lightingSh010);
    await run('manager', ids.projects.big ?? '', ids.tasks.big[0] ?? '');
    await run('vendor', ids.projects.spf, ids.tasks.vendorCompositing);
  });
  afterAll(() => harness.close());

  it('GET /jobs, /jobs/:id (JSON and HTML), its result and its cancel answer 401 without a session', async () => {
    const job = `${harness.baseUrl}/jobs/${jobs.artist}`;
    const answers = await Promise.all([
      request(`${harness.baseUrl}/jobs`),
      request(`${harness.baseUrl}/jobs`, { headers: { Accept: 'text/html' } }),
      request(job),
      request(job, { headers: { Accept: 'text/html' } }),
      request(`${job}/result`),
      request(`${job}/cancel`, { method: 'POST', body: {} }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401, 401, 401, 401]);
    for (const answer of answers) expect(answer.text).not.toContain(jobs.artist);
    const garbage = await request(job, { headers: { Authorization: 'Bearer not-a-session' } });
    expect(garbage.status).toBe(401);
  });

  it("a person lists their own jobs; managers and supervisors their productions' too; admins all", async () => {
    const all = Object.values(jobs).sort();
    const spf = [jobs.artist, jobs.lighter, jobs.vendor].sort();
    const expected: Record<HumanKey, string[]> = {
      admin: all,
      manager: all, // on the teams of Spring Festival and Big Show
      supervisor: spf, // Spring Festival only
      artist: [jobs.artist],
      lighter: [jobs.lighter],
      vendor: [jobs.vendor],
      client: [], // on the team, but a client: their own only
      outsider: [],
      producer: [], // a manager on no team
    };
    for (const [person, want] of Object.entries(expected) as Array<[HumanKey, string[]]>) {
      const list = await request(`${harness.baseUrl}/jobs`, { headers: session(person) });
      expect({ person, status: list.status, ids: idsOf(list), total: list.body['total'] }).toEqual({
        person,
        status: 200,
        ids: want,
        total: want.length,
      });
    }
    // The filters narrow what one may see; they never widen it.
    const someoneElse = await request(`${harness.baseUrl}/jobs?person=${zou.seed.ids.persons.lighter}`, {
      headers: session('artist'),
    });
    expect(idsOf(someoneElse)).toEqual([]);
    const bySupervisor = await request(`${harness.baseUrl}/jobs?person=${zou.seed.ids.persons.lighter}`, {
      headers: session('supervisor'),
    });
    expect(idsOf(bySupervisor)).toEqual([jobs.lighter]);
  });

  it("another's job reads as unknown, and a refusal never names a production to someone off its team", async () => {
    const read = (person: HumanKey, job: string, html = false): Promise<Answer> =>
      request(`${harness.baseUrl}/jobs/${job}`, {
        headers: { ...session(person), ...(html ? { Accept: 'text/html' } : {}) },
      });
    expect((await read('artist', jobs.artist)).status).toBe(200);
    expect((await read('artist', jobs.artist, true)).text).toContain(jobs.artist);
    expect((await read('supervisor', jobs.lighter)).status).toBe(200);
    expect((await read('manager', jobs.manager)).status).toBe(200);
    expect((await read('admin', jobs.manager)).status).toBe(200);
    const unknown = await read('artist', 'pages-00000000-0000-4000-8000-000000000000');
    const messageOf = (answer: Answer): string =>
      (answer.body['error'] as { message: string }).message.replace(/pages-[0-9a-f-]{36}/, 'ID');
    const hidden = [
      await read('artist', jobs.lighter),
      await read('vendor', jobs.artist),
      await read('client', jobs.artist),
      await read('producer', jobs.artist),
      await read('supervisor', jobs.manager),
    ];
    for (const answer of hidden) {
      expect(answer.status).toBe(404);
      // The same answer as for a job that does not exist.
      expect((answer.body['error'] as { code: string }).code).toBe('unknown_job');
      expect(messageOf(answer)).toBe(messageOf(unknown));
    }
    const asPages = [await read('artist', jobs.lighter, true), await read('supervisor', jobs.manager, true)];
    expect(asPages.map((answer) => answer.status)).toEqual([404, 404]);
    for (const answer of [hidden[4], asPages[1]]) {
      expect(answer?.text).not.toContain('Big Show');
      expect(answer?.text).not.toContain(zou.seed.ids.projects.big ?? 'big');
    }
    const result = await request(`${harness.baseUrl}/jobs/${jobs.lighter}/result`, {
      headers: session('artist'),
    });
    expect(result.status).toBe(404);
  });

  it('a manager cancels only the jobs of productions whose team they are on', async () => {
    const cancel = (person: HumanKey, job: string): Promise<Answer> =>
      request(`${harness.baseUrl}/jobs/${job}/cancel`, {
        method: 'POST',
        headers: { ...session(person), Origin: kitsuOrigin },
        body: {},
      });
    // A manager on no team: the job is not theirs to see, let alone cancel.
    expect((await cancel('producer', jobs.lighter)).status).toBe(404);
    // A supervisor sees their team's jobs but cancels only their own.
    const supervisor = await cancel('supervisor', jobs.lighter);
    expect(supervisor.status).toBe(403);
    expect((supervisor.body['error'] as { code: string }).code).toBe('not_allowed');
    expect((supervisor.body['error'] as { message: string }).message).toBe(
      "Only the person who ran this job (lena.becker@studio.example), a manager on its production's team or a Kitsu admin can cancel it; Sofia Rossi is supervisor.",
    );
    const manager = await cancel('manager', jobs.lighter);
    expect(manager.status).toBe(202);
    expect(manager.body).toMatchObject({
      state: 'cancelled',
      cancelledBy: 'marc.dubois@studio.example (manager)',
    });
    const view = await request(`${harness.baseUrl}/jobs/${jobs.lighter}`, { headers: session('lighter') });
    expect(view.body).toMatchObject({ state: 'cancelled' });
  });

  it("a queued job's result is no page yet, said as such", async () => {
    const result = await request(`${harness.baseUrl}/jobs/${jobs.artist}/result`, {
      headers: session('artist'),
    });
    expect(result.status).toBe(404);
    expect(result.body['error']).toEqual({
      code: 'no_result_page',
      message: `Job ${jobs.artist} is queued; its result page exists once it has completed.`,
    });
  });

  it('a cancel of a job that does not exist is 404 unknown_job', async () => {
    const missing = 'pages-00000000-0000-4000-8000-000000000000';
    const answer = await request(`${harness.baseUrl}/jobs/${missing}/cancel`, {
      method: 'POST',
      headers: { ...session('admin'), Origin: kitsuOrigin },
      body: {},
    });
    expect(answer.status).toBe(404);
    expect((answer.body['error'] as { code: string }).code).toBe('unknown_job');
  });

  it("an admin cancels anyone's job, on a production's team or not", async () => {
    const answer = await request(`${harness.baseUrl}/jobs/${jobs.manager}/cancel`, {
      method: 'POST',
      headers: { ...session('admin'), Origin: kitsuOrigin },
      body: {},
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      state: 'cancelled',
      cancelledBy: 'noor.haddad@studio.example (admin)',
    });
  });

  it('teams are read once per production while cached, not once per read', async () => {
    const projectReads = (): number =>
      zou.control.requests({ method: 'GET', path: /^\/data\/projects\/[^/]+$/ }).length;
    const before = projectReads();
    for (let index = 0; index < 5; index += 1) {
      expect((await request(`${harness.baseUrl}/jobs`, { headers: session('supervisor') })).status).toBe(200);
      const one = await request(`${harness.baseUrl}/jobs/${jobs.artist}`, { headers: session('supervisor') });
      expect(one.status).toBe(200);
    }
    expect(projectReads() - before).toBeLessThanOrEqual(2);
  });
});

describe('AUTH_MODE=token: the status link carries a capability for that job', () => {
  const secret = 'a-long-shared-secret-for-tests';
  let harness: ReceiverHarness;
  const fields = { personid: offlinePerson, selection: offlineTask, entitytype: 'asset' };
  const run = (html = false): Promise<Answer> =>
    request(`${harness.baseUrl}/actions/debug?token=${secret}`, {
      method: 'POST',
      headers: html ? { Accept: 'text/html' } : {},
      body: fields,
    });
  const capOf = (url: string): string => new URL(url).searchParams.get('cap') ?? '';

  beforeAll(async () => {
    harness = await startTokenReceiver({ redisUrl: inject('redisUrl'), secret });
  });
  afterAll(() => harness.close());

  it('opens its status and cancel (links included) and nothing else; the token opens everything', async () => {
    const first = await run();
    expect(first.status).toBe(202);
    const jobId = String(first.body['jobId']);
    const statusUrl = String(first.body['statusUrl']);
    expect(statusUrl).toMatch(new RegExp(`^${harness.baseUrl}/jobs/${jobId}\\?cap=[A-Za-z0-9_-]{43}$`));
    expect(first.location).toBe(statusUrl);
    const form = await run(true);
    expect(form.status).toBe(303);
    expect(form.location).toMatch(/\/jobs\/pages-[0-9a-f-]{36}\?cap=[A-Za-z0-9_-]{43}$/);
    const other = form.location.split('?')[0]?.split('/').pop() ?? '';

    const view = await request(statusUrl);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id: jobId, state: 'queued' });
    for (const link of view.body['links'] as Array<{ href: string }>)
      expect(capOf(link.href)).toBe(capOf(statusUrl));

    const page = await request(statusUrl, { headers: { Accept: 'text/html' } });
    const cap = capOf(statusUrl);
    expect(page.text).toContain(`action="${harness.baseUrl}/jobs/${jobId}/cancel?cap=${cap}"`);
    expect(page.text).toContain(`href="${harness.baseUrl}/jobs/${jobId}?cap=${cap}&amp;format=json"`);

    // Nothing else: not without it, not another job, not the list.
    const bare = await request(`${harness.baseUrl}/jobs/${jobId}`);
    expect(bare.status).toBe(401);
    expect((bare.body['error'] as { code: string }).code).toBe('capability_required');
    const wrongJob = await request(`${harness.baseUrl}/jobs/${other}?cap=${cap}`);
    expect(wrongJob.status).toBe(401);
    expect((wrongJob.body['error'] as { code: string }).code).toBe('capability_refused');
    expect((await request(`${harness.baseUrl}/jobs/${other}/result?cap=${cap}`)).status).toBe(401);
    expect(
      (await request(`${harness.baseUrl}/jobs/${other}/cancel?cap=${cap}`, { method: 'POST', body: {} }))
        .status,
    ).toBe(401);
    expect((await request(`${harness.baseUrl}/jobs?cap=${cap}`)).status).toBe(401);
    expect((await request(`${harness.baseUrl}/jobs`)).status).toBe(401);

    // The token itself still opens the list, whose entries carry their own capabilities.
    const list = await request(`${harness.baseUrl}/jobs`, { headers: { 'X-Kitsu-Actions-Token': secret } });
    expect(list.status).toBe(200);
    const entries = list.body['jobs'] as Array<{ id: string; links: Array<{ href: string }> }>;
    expect(entries.find((entry) => entry.id === jobId)?.links[0]?.href).toBe(statusUrl);
    expect((await request(`${harness.baseUrl}/jobs/${other}?token=${secret}`)).status).toBe(200);

    // The cancel form, as a browser posts it: back to the page, with the capability.
    const cancelled = await request(`${harness.baseUrl}/jobs/${jobId}/cancel?cap=${cap}`, {
      method: 'POST',
      headers: { Accept: 'text/html' },
      body: {},
    });
    expect(cancelled.status).toBe(303);
    expect(cancelled.location).toBe(statusUrl);
    expect((await request(statusUrl)).body).toMatchObject({ state: 'cancelled' });
  });

  it('cancels with the token or with a job link, naming which', async () => {
    const byToken = String((await run()).body['jobId']);
    const cancelled = await request(`${harness.baseUrl}/jobs/${byToken}/cancel`, {
      method: 'POST',
      headers: { 'X-Kitsu-Actions-Token': secret },
      body: {},
    });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({
      state: 'cancelled',
      cancelledBy: 'a holder of the actions token (AUTH_MODE=token)',
    });
    const byLink = String((await run()).body['statusUrl']);
    const [statusPath, query] = byLink.split('?');
    const linked = await request(`${statusPath ?? ''}/cancel?${query ?? ''}`, { method: 'POST', body: {} });
    expect(linked.status).toBe(202);
    expect(linked.body).toMatchObject({
      state: 'cancelled',
      cancelledBy: "a holder of the job's status link (AUTH_MODE=token)",
    });
  });

  it('a missing or wrong capability says what opens the page, for the list and for a job', async () => {
    const statusUrl = String((await run()).body['statusUrl']);
    const [statusPath] = statusUrl.split('?');
    const cap = capOf(statusUrl);
    const errorOf = async (url: string): Promise<{ code: string; message: string }> => {
      const answer = await request(url);
      expect(answer.status).toBe(401);
      return answer.body['error'] as { code: string; message: string };
    };
    expect(await errorOf(`${harness.baseUrl}/jobs`)).toEqual({
      code: 'capability_required',
      message:
        'The job list needs the kitsu-actions token (?token=<ACTIONS_TOKEN> or the X-Kitsu-Actions-Token header).',
    });
    expect(await errorOf(statusPath ?? '')).toMatchObject({
      code: 'capability_required',
      message: expect.stringMatching(/^This page opens with its own link: .* ends in \?cap=…/) as string,
    });
    expect(await errorOf(`${harness.baseUrl}/jobs?cap=${cap}`)).toEqual({
      code: 'capability_refused',
      message: "A job's link (?cap=) opens that job only; the job list needs the kitsu-actions token.",
    });
    expect(await errorOf(`${statusPath ?? ''}?cap=${cap.slice(0, 20)}`)).toMatchObject({
      code: 'capability_refused',
      message: expect.stringMatching(
        /^This link does not open this job: its cap= is another job's, or cut short/,
      ) as string,
    });
    // The right capability twice is not one capability.
    expect(await errorOf(`${statusUrl}&cap=${cap}`)).toMatchObject({ code: 'capability_refused' });
  });

  it('the list: not kept by caches, HTML on request, state filters in any case and spacing, bad filters named', async () => {
    const token = { 'X-Kitsu-Actions-Token': secret };
    const jobId = String((await run()).body['jobId']);
    const page = await fetch(`${harness.baseUrl}/jobs`, { headers: { ...token, Accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const queued = await request(`${harness.baseUrl}/jobs?state=%20Queued%20`, { headers: token });
    expect(queued.status).toBe(200);
    expect(idsOf(queued)).toContain(jobId);
    const bad = await request(`${harness.baseUrl}/jobs?perPage=0`, { headers: token });
    expect(bad.status).toBe(400);
    expect(bad.body['error']).toMatchObject({
      code: 'invalid_query',
      message: 'Invalid filter for the job list.',
    });
  });

  it('the list filters by action', async () => {
    const render = await request(`${harness.baseUrl}/actions/render-flamenco?token=${secret}`, {
      method: 'POST',
      body: { ...fields, entitytype: 'shot' },
    });
    expect(render.status).toBe(202);
    const renderJob = String(render.body['jobId']);
    const debugJob = String((await run()).body['jobId']);
    const byAction = (action: string): Promise<Answer> =>
      request(`${harness.baseUrl}/jobs?action=${action}`, { headers: { 'X-Kitsu-Actions-Token': secret } });
    expect(idsOf(await byAction('render-flamenco'))).toEqual([renderJob]);
    const debug = idsOf(await byAction('debug'));
    expect(debug).toContain(debugJob);
    expect(debug).not.toContain(renderJob);
  });

  it('opens the result once the job is done, and nothing once the job is removed', async () => {
    const worker = harness.startWorker();
    // Stopped with the test: the other tests of this receiver read their jobs as queued.
    onTestFinished(async () => {
      await worker.stop();
    });
    await worker.waitFor(/workers ready/);
    const sent = await run();
    const jobId = String(sent.body['jobId']);
    const statusUrl = String(sent.body['statusUrl']);
    const done = await harness.waitForJob(jobId, { headers: { 'X-Kitsu-Actions-Token': secret } });
    expect(done['state']).toBe('completed');
    const resultUrl = (done['result'] as { href: string }).href;
    expect(resultUrl).toBe(`${harness.baseUrl}/jobs/${jobId}/result?cap=${capOf(statusUrl)}`);
    const page = await request(statusUrl, { headers: { Accept: 'text/html' } });
    expect(page.text).toContain(`href="${resultUrl}"`);
    const result = await request(resultUrl, { headers: { Accept: 'text/html' } });
    expect(result.status).toBe(200);
    expect(result.text).toContain(jobId);
    // A page a worker built: no script runs but the sortable tables' (by its hash), nothing loads, nothing is kept.
    const served = await fetch(resultUrl, { headers: { Accept: 'text/html' } });
    expect(served.headers.get('content-security-policy')?.split('; frame-ancestors ')[0]).toBe(
      `default-src 'none'; script-src ${sortableTablesSource}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`,
    );
    expect(sortableTablesSource).toMatch(/^'sha256-[A-Za-z0-9+/]{43}='$/);
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(served.headers.get('cache-control')).toBe('no-store');
    // A job that has ended is not cancelled again, and says why.
    const late = await request(`${harness.baseUrl}/jobs/${jobId}/cancel?cap=${capOf(statusUrl)}`, {
      method: 'POST',
      body: {},
    });
    expect(late.status).toBe(409);
    expect(late.body['error']).toEqual({
      code: 'job_finished',
      message: `Job ${jobId} has already ended (completed); there is nothing to cancel.`,
    });

    await harness.queues.queue('pages').remove(jobId);
    const gone = await request(statusUrl);
    expect(gone.status).toBe(404);
    expect(gone.body['error']).toEqual({
      code: 'unknown_job',
      message: `There is no job ${jobId} that you can see. Finished jobs are kept for a limited time; it may have been removed.`,
    });
    expect((await request(resultUrl)).status).toBe(404);
  });
});

describe('links and states as people and programs read them', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  const publicUrl = 'https://kitsu.studio.example/kitsu-actions';
  const session = (): Record<string, string> => ({
    Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons.lighter)}`,
  });

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({
      redisUrl: inject('redisUrl'),
      // Behind a proxy, under a path of Kitsu's domain: every link must say so.
      env: { PUBLIC_URL: publicUrl },
    }));
  });
  afterAll(() => harness.close());

  /** The state word the status page shows. */
  const shownState = (page: string): string =>
    /<span class="state state-[a-z]+">([^<]+)<\/span>/.exec(page)?.[1] ?? '';

  it('JSON links and statusUrl are absolute from PUBLIC_URL; states read the same on pages, in JSON and in ?state=', async () => {
    const { ids } = zou.seed;
    const sent = await request(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      headers: { ...session(), Origin: kitsuOrigin },
      body: {
        personid: ids.persons.lighter,
        projectid: ids.projects.spf,
        selection: ids.tasks.lightingSh010,
      },
    });
    const jobId = String(sent.body['jobId']);
    expect(sent.body['statusUrl']).toBe(`${publicUrl}/jobs/${jobId}`);
    const local = `${harness.baseUrl}/jobs/${jobId}`;

    // Queued.
    const queued = await request(local, { headers: session() });
    expect(queued.body['links']).toEqual([{ label: 'Status', href: `${publicUrl}/jobs/${jobId}` }]);
    const queuedPage = await request(local, { headers: { ...session(), Accept: 'text/html' } });
    expect(shownState(queuedPage.text)).toBe(queued.body['state']);
    expect(queuedPage.text).toContain(`action="${publicUrl}/jobs/${jobId}/cancel"`);
    const byWord = await request(`${harness.baseUrl}/jobs?state=${shownState(queuedPage.text)}`, {
      headers: session(),
    });
    expect(idsOf(byWord)).toEqual([jobId]);

    // Active: a worker holds it while Kitsu answers slowly; the attempt under way counts.
    const connection = createRedis(inject('redisUrl'), 'consumer');
    const events = new QueueEvents('pages', { connection, prefix: harness.prefix });
    await events.waitUntilReady();
    const started = new Promise<void>((resolve) => {
      events.on('active', ({ jobId: id }) => {
        if (id === jobId) resolve();
      });
    });
    // Long enough to read the job twice while it runs (each of the handler's task reads takes this long).
    zou.control.slow(2500, { method: 'GET', path: /^\/data\/tasks\// });
    harness.startWorker();
    await started;
    const active = await request(local, { headers: session() });
    expect(active.body).toMatchObject({ state: 'active', attempts: 1, maxAttempts: 3 });
    const activePage = await request(local, { headers: { ...session(), Accept: 'text/html' } });
    expect(shownState(activePage.text)).toBe('active');
    expect(activePage.text).toMatch(/<td id="attempts">1 of 3<\/td>/);
    expect(activePage.text).not.toContain('Running');
    const listed = await request(`${harness.baseUrl}/jobs?state=${shownState(activePage.text)}`, {
      headers: session(),
    });
    expect(idsOf(listed)).toEqual([jobId]);

    // Completed.
    zou.control.clearFaults();
    const done = await harness.waitForJob(jobId, { headers: session() });
    await events.close();
    connection.disconnect();
    expect(done).toMatchObject({ state: 'completed', attempts: 1 });
    expect(done['links']).toEqual([
      { label: 'Status', href: `${publicUrl}/jobs/${jobId}` },
      { label: expect.any(String) as string, href: `${publicUrl}/jobs/${jobId}/result` },
    ]);
    expect(done['result']).toMatchObject({ type: 'page', href: `${publicUrl}/jobs/${jobId}/result` });
    const donePage = await request(local, { headers: { ...session(), Accept: 'text/html' } });
    expect(shownState(donePage.text)).toBe('completed');
    expect(donePage.text).toContain(`href="${publicUrl}/jobs/${jobId}/result"`);
    // Any letter case of the same names.
    const completed = await request(`${harness.baseUrl}/jobs?state=Completed`, { headers: session() });
    expect(idsOf(completed)).toEqual([jobId]);
    const list = await request(`${harness.baseUrl}/jobs`, { headers: session() });
    expect((list.body['jobs'] as Array<{ links: Array<{ href: string }> }>)[0]?.links[0]?.href).toBe(
      `${publicUrl}/jobs/${jobId}`,
    );
  });

  it('every state name is a filter, the list page offers exactly those, and others are refused naming them', async () => {
    for (const state of JobState.options) {
      expect((await request(`${harness.baseUrl}/jobs?state=${state}`, { headers: session() })).status).toBe(
        200,
      );
    }
    const page = await request(`${harness.baseUrl}/jobs`, { headers: { ...session(), Accept: 'text/html' } });
    const offered = [...page.text.matchAll(/href="[^"]*\?state=([a-z]+)"/g)].map((match) => match[1]);
    expect(new Set(offered)).toEqual(new Set(JobState.options));
    const running = await request(`${harness.baseUrl}/jobs?state=running`, { headers: session() });
    expect(running.status).toBe(400);
    expect((running.body['error'] as { message: string }).message).toContain(
      'use one of queued, active, completed, failed, cancelled',
    );
  });
});

describe('the result of a job not done yet, by what its kind has', () => {
  let harness: ReceiverHarness;
  // A receiver per test: the result routes it sets up as it is built are part of the test.
  beforeEach(async () => {
    const render = catalogueFixture('render').yaml.replace(/^actions:\n/m, '');
    const catalogueYaml = `actions:\n  - { id: debug, name: Debug selection, kind: debug }\n${render}`;
    harness = await startReceiver({ redisUrl: inject('redisUrl'), catalogueYaml });
  });
  afterEach(() => harness.close());

  const queued = async (action: string, entitytype: string): Promise<string> => {
    const sent = await request(`${harness.baseUrl}/actions/${action}`, {
      method: 'POST',
      body: { personid: offlinePerson, selection: offlineTask, entitytype },
    });
    expect(sent.status).toBe(202);
    return String(sent.body['jobId']);
  };
  const error = async (path: string): Promise<unknown> => {
    const answer = await request(`${harness.baseUrl}${path}`);
    expect(answer.status).toBe(404);
    return answer.body['error'];
  };

  it('a page or file the kind never makes is "none", whatever the state; one it makes comes once the job has completed', async () => {
    const debug = await queued('debug', 'shot');
    expect(await error(`/jobs/${debug}/result`)).toEqual({
      code: 'no_result_page',
      message: `Job ${debug} is queued; its result page exists once it has completed.`,
    });
    expect(await error(`/jobs/${debug}/result.csv`)).toEqual({
      code: 'no_result_page',
      message: `Job ${debug} has no result.csv.`,
    });
    const render = await queued('render-flamenco', 'shot');
    expect(await error(`/jobs/${render}/result`)).toEqual({
      code: 'no_result_page',
      message: `Job ${render} has no result page.`,
    });
    expect(await error(`/jobs/${render}/result.json`)).toEqual({
      code: 'no_result_page',
      message: `Job ${render} has no result.json.`,
    });
  });
});

describe('a completed job whose result is no page', () => {
  let harness: ReceiverHarness;
  beforeAll(async () => {
    harness = await startReceiver({ redisUrl: inject('redisUrl') });
  });
  afterAll(() => harness.close());

  it('its result answers 404 no_result_page', async () => {
    const sent = await request(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      body: { personid: offlinePerson, selection: offlineTask },
    });
    const jobId = String(sent.body['jobId']);
    // A worker of another build: it completes the job with something that is not a debug page.
    const connection = createRedis(inject('redisUrl'), 'consumer');
    const worker = new Worker('pages', () => Promise.resolve({ type: 'page' }), {
      connection,
      prefix: harness.prefix,
    });
    try {
      await new Promise<void>((resolve) => {
        worker.on('completed', (job) => {
          if (job.id === jobId) resolve();
        });
      });
    } finally {
      await worker.close();
      connection.disconnect();
    }
    const result = await request(`${harness.baseUrl}/jobs/${jobId}/result`);
    expect(result.status).toBe(404);
    expect(result.body['error']).toEqual({
      code: 'no_result_page',
      message: `Job ${jobId} has no result page.`,
    });
  });
});

/** What the receiver logged about `jobId`'s cancel: level, message, and the fields naming who and when. */
const cancelLines = (lines: LogLine[], jobId: string): unknown[] =>
  lines
    .filter((line) => line['jobId'] === jobId && line.msg.startsWith('cancel'))
    .map(({ level, msg, by, personId, state }) => ({ level, msg, by, personId, state }));

describe('AUTH_MODE=none: every job is anyone’s, as the JSON or the page asked for', () => {
  let harness: ReceiverHarness;
  let lines: LogLine[];
  beforeAll(async () => {
    const recorded = recordingLogger();
    lines = recorded.lines;
    harness = await startReceiver({ redisUrl: inject('redisUrl'), logger: recorded.logger });
  });
  afterAll(() => harness.close());

  it('reads a job as JSON or as its page, never cached, lists as JSON on ?format=json, and cancels naming no one', async () => {
    const sent = await request(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      body: { personid: offlinePerson, selection: offlineTask, entitytype: 'asset' },
    });
    expect(sent.status).toBe(202);
    const jobId = String(sent.body['jobId']);
    const json = await fetch(`${harness.baseUrl}/jobs/${jobId}`, { headers: { Accept: 'application/json' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.headers.get('cache-control')).toBe('no-store');
    expect(((await json.json()) as { id: string }).id).toBe(jobId);
    const page = await fetch(`${harness.baseUrl}/jobs/${jobId}`, { headers: { Accept: 'text/html' } });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const asked = await fetch(`${harness.baseUrl}/jobs?format=json`, { headers: { Accept: 'text/html' } });
    expect(asked.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await asked.json()) as { jobs: Array<{ id: string }> }).jobs.map((job) => job.id)).toContain(
      jobId,
    );
    const cancelled = await request(`${harness.baseUrl}/jobs/${jobId}/cancel`, { method: 'POST', body: {} });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({
      state: 'cancelled',
      cancelledBy: 'someone (AUTH_MODE=none, caller unknown)',
    });
    // An operator reading the log sees that nobody is known, as a warning, then the cancel itself.
    expect(cancelLines(lines, jobId)).toEqual([
      { level: 40, msg: 'cancel accepted without knowing who asked (AUTH_MODE=none)' },
      {
        level: 30,
        msg: 'cancel requested',
        by: 'someone (AUTH_MODE=none, caller unknown)',
        personId: undefined,
        state: 'queued',
      },
    ]);
  });
});

describe('a canceller as Kitsu names them', () => {
  it('a canceller without an email in Kitsu is named by their full name, with their role when not their job', async () => {
    // A Kitsu and a receiver of their own: the jobs this starts and the names it changes are seen by no
    // other test.
    const { logger, lines } = recordingLogger();
    const { zou, harness } = await startZouReceiver({ redisUrl: inject('redisUrl'), logger });
    onTestFinished(() => harness.close());
    const session = (person: HumanKey): Record<string, string> => ({
      Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons[person])}`,
    });
    const { ids } = zou.seed;
    const rows = [ids.persons.artist, ids.persons.manager].map((id) => zou.state.persons.get(id));
    for (const row of rows) if (row !== undefined) Object.assign(row, { email: '' });
    const artist = rows[0];
    if (artist !== undefined) artist.full_name = 'K. Sato (layout)';
    // A Kitsu that sends no full name, and no email (null): the canceller is named by first and last name.
    Object.assign(rows[1] ?? {}, { full_name: undefined, email: null });
    const start = async (): Promise<string> => {
      const sent = await request(`${harness.baseUrl}/actions/debug`, {
        method: 'POST',
        headers: { ...session('artist'), Origin: kitsuOrigin },
        body: { personid: ids.persons.artist, projectid: ids.projects.spf, selection: ids.tasks.layoutSh010 },
      });
      expect(sent.status).toBe(202);
      return String(sent.body['jobId']);
    };
    const cancel = (person: HumanKey, job: string): Promise<Answer> =>
      request(`${harness.baseUrl}/jobs/${job}/cancel`, {
        method: 'POST',
        headers: { ...session(person), Origin: kitsuOrigin },
        body: {},
      });
    const ownJob = await start();
    const own = await cancel('artist', ownJob);
    expect(own.status).toBe(202);
    expect(own.body['cancelledBy']).toBe('K. Sato (layout)');
    const managedJob = await start();
    const managed = await cancel('manager', managedJob);
    expect(managed.status).toBe(202);
    expect(managed.body['cancelledBy']).toBe('Marc Dubois (manager)');
    // The log names the person by id as well, and the job's state when the cancel came; no warning.
    expect(cancelLines(lines, ownJob)).toEqual([
      {
        level: 30,
        msg: 'cancel requested',
        by: 'K. Sato (layout)',
        personId: ids.persons.artist,
        state: 'queued',
      },
    ]);
    expect(cancelLines(lines, managedJob)).toEqual([
      {
        level: 30,
        msg: 'cancel requested',
        by: 'Marc Dubois (manager)',
        personId: ids.persons.manager,
        state: 'queued',
      },
    ]);
  });
});
