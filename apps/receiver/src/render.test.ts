import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  catalogueFixture,
  freePort,
  spawnService,
  startFakeAfanasy,
  startFakeFlamenco,
  startFakeZou,
  type FakeAfanasy,
  type FakeFlamenco,
  type FakeZou,
} from '@kitsu-actions/testing';
import { kitsuOrigin, startReceiver, type ReceiverHarness } from '../test/harness.ts';

/** The render actions of packages/testing/fixtures/catalogues/render.yaml: a file for the processes to read. */
const catalogue = catalogueFixture('render');

interface Answer {
  status: number;
  location: string;
  text: string;
}

async function post(url: string, body: Record<string, string>, cookie: string | undefined): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'text/html',
      // With the session cookie, Kitsu's origin as a browser sends it (a POST without one is refused).
      ...(cookie === undefined ? {} : { Cookie: `access_token_cookie=${cookie}`, Origin: kitsuOrigin }),
    },
    body: new URLSearchParams(body).toString(),
    redirect: 'manual',
  });
  return {
    status: response.status,
    location: response.headers.get('location') ?? '',
    text: await response.text(),
  };
}

/** Job pages are read with the requester's session (reads need one under zou-session: issue 10). */
let readAs: Record<string, string> = {};

async function json(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url, { headers: { Accept: 'application/json', ...readAs } })).json()) as Record<
    string,
    unknown
  >;
}

async function statusPage(url: string): Promise<string> {
  return (await fetch(url, { headers: { Accept: 'text/html', ...readAs } })).text();
}

/** Polls (bounded) until `check` holds: the fakes' state and the status endpoint have no events to wait on. */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('render actions end to end (Kitsu form → receiver → worker process → fake farm)', () => {
  let zou: FakeZou;
  let flamenco: FakeFlamenco;
  let afanasy: FakeAfanasy;
  let harness: ReceiverHarness;
  let clock: NodeJS.Timeout | undefined;
  let lighting: string[];
  const token = (person: 'lighter' | 'artist' | 'supervisor' | 'manager'): string =>
    zou.control.issueToken(zou.seed.ids.persons[person]);
  const runFarms = (): void => {
    clock ??= setInterval(() => {
      flamenco.control.advance(50);
      afanasy.control.advance(50);
    }, 25);
  };
  const stopFarms = (): void => {
    clearInterval(clock);
    clock = undefined;
  };
  /** The farm's own record of what one of our jobs submitted there. */
  const submissionsOf = <S extends object>(jobId: string, submissions: S[]): S[] =>
    submissions.filter((submission) => JSON.stringify(submission).includes(jobId));
  const request = (actionId: string, tasks: string[], to = harness): Promise<Answer> =>
    post(
      `${to.baseUrl}/actions/${actionId}`,
      {
        personid: zou.seed.ids.persons.lighter,
        projectid: zou.seed.ids.projects.spf,
        selection: tasks.join(','),
        entitytype: 'shot',
        currentpath: `/productions/${zou.seed.ids.projects.spf}/shots`,
      },
      token('lighter'),
    );

  beforeAll(async () => {
    zou = await startFakeZou();
    // The farms' clocks move only when the test says so.
    flamenco = await startFakeFlamenco({ startDelayMs: 100, taskMs: 150, transitionMs: 100 });
    afanasy = await startFakeAfanasy({ startDelayMs: 100, taskMs: 150 });
    const spf = zou.seed.ids.tasks.spf;
    lighting = [0, 1, 2].map((shot) => spf[shot * 4 + 2] ?? '');
    readAs = { Cookie: `access_token_cookie=${token('lighter')}` };
    harness = await startRenderReceiver();
    // Every test but the first (which has a receiver and worker of its own) needs the worker running.
    await harness.startWorker().waitFor(/workers ready/);
  });

  /** A receiver of its own (a queue prefix of its own) with the render catalogue; no worker yet. */
  function startRenderReceiver(): Promise<ReceiverHarness> {
    return startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml: catalogue.yaml,
      env: {
        AUTH_MODE: 'zou-session',
        KITSU_URL: zou.url,
        KITSU_BOT_TOKEN: zou.seed.botToken,
        DEDUP_WINDOW_MS: '0',
        // The worker process reads the same catalogue from its file (and checks its farms are configured).
        ACTIONS_FILE: catalogue.file,
        FLAMENCO_URL: flamenco.url,
        AFANASY_HOST: afanasy.host,
        AFANASY_PORT: String(afanasy.port),
        FARM_POLL_INTERVAL_MS: '50',
        FARM_POLL_MAX_INTERVAL_MS: '100',
        FARM_RETRIES: '1',
      },
    });
  }

  afterAll(async () => {
    stopFarms();
    await harness.close();
    await Promise.all([zou.close(), flamenco.close(), afanasy.close()]);
  });

  it('a queued render can be cancelled from its page; it then ends without reaching the farm', async () => {
    // A receiver of its own, whose queues no worker reads yet: the job waits.
    const idle = await startRenderReceiver();
    onTestFinished(() => idle.close());
    const sent = await request('render-flamenco', lighting.slice(0, 1), idle);
    expect(sent.status).toBe(303);
    const jobId = sent.location.split('/').pop() ?? '';
    expect(jobId).toMatch(/^render-[0-9a-f-]{36}$/);
    const page = await statusPage(sent.location);
    expect(page).toContain(`<form method="post" action="${idle.baseUrl}/jobs/${jobId}/cancel"`);

    // Another artist does not even see it (issue 10: a person reads their own jobs); a supervisor on the
    // team sees it but may not cancel it; the requester may, and is sent back to the page.
    const unseen = await post(`${idle.baseUrl}/jobs/${jobId}/cancel`, {}, token('artist'));
    expect(unseen.status).toBe(404);
    const refused = await post(`${idle.baseUrl}/jobs/${jobId}/cancel`, {}, token('supervisor'));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('Only the person who ran this job');
    const cancelled = await post(`${idle.baseUrl}/jobs/${jobId}/cancel`, {}, token('lighter'));
    expect(cancelled.status).toBe(303);
    expect(cancelled.location).toBe(sent.location);
    const view = await json(sent.location);
    expect(view['state']).toBe('cancelled');
    expect(view['error']).toMatchObject({ message: 'Cancelled by lena.becker@studio.example' });
    const listed = (await json(`${idle.baseUrl}/jobs?state=cancelled`))['jobs'] as { id: string }[];
    expect(listed.map((job) => job.id)).toContain(jobId);
    const queued = (await json(`${idle.baseUrl}/jobs?state=queued`))['jobs'] as { id: string }[];
    expect(queued.map((job) => job.id)).not.toContain(jobId);

    await idle.startWorker().waitFor(/workers ready/);
    const ended = await idle.waitForJob(jobId, { headers: readAs });
    expect(ended['state']).toBe('cancelled');
    expect(ended['error']).toMatchObject({
      message: 'Cancelled by lena.becker@studio.example before it started',
    });
    expect(submissionsOf(jobId, flamenco.state.submissions)).toHaveLength(0);
  });

  it('Flamenco: three shots rendered, the page shows progress and a link to each farm job', async () => {
    runFarms();
    const sent = await request('render-flamenco', lighting);
    expect(sent.status).toBe(303);
    const jobId = sent.location.split('/').pop() ?? '';
    const ended = await harness.waitForJob(jobId, { headers: readAs });
    stopFarms();
    expect(ended['state']).toBe('completed');
    expect(ended['progress']).toMatchObject({ percent: 100, message: '3 shots rendered on Flamenco' });
    const farmJobs = submissionsOf(jobId, flamenco.state.submissions).map((submission) => submission.jobId);
    expect(farmJobs).toHaveLength(3);
    const page = await statusPage(sent.location);
    for (const farmJob of farmJobs) expect(page).toContain(`href="${flamenco.url}/app/jobs/${farmJob}"`);
    expect(page).toContain('Flamenco: E01 / SQ010 / SH010');
    expect(page).not.toContain('/cancel"');
    // Finished: nothing left to cancel.
    const late = await post(`${harness.baseUrl}/jobs/${jobId}/cancel`, {}, token('lighter'));
    expect(late.status).toBe(409);
  });

  it('a manager cancels a running render: the farm jobs are cancelled, the job ends cancelled naming them', async () => {
    // The farm's clock stands still: the jobs stay queued on the farm while the worker tracks them.
    stopFarms();
    const sent = await request('render-flamenco', lighting.slice(0, 2));
    const jobId = sent.location.split('/').pop() ?? '';
    const progressOf = async (): Promise<string> =>
      ((await json(sent.location))['progress'] as { message: string }).message;
    await until(
      async () => /of 2 shots rendering/.test(await progressOf()),
      'the job to track its farm jobs',
    );
    const live = await statusPage(sent.location);
    expect(live).toContain('of 2 shots rendering');
    expect(live).toContain(`action="${harness.baseUrl}/jobs/${jobId}/cancel"`);
    const mine = submissionsOf(jobId, flamenco.state.submissions).map((submission) => submission.jobId);
    expect(mine).toHaveLength(2);
    for (const farmJob of mine) expect(live).toContain(`href="${flamenco.url}/app/jobs/${farmJob}"`);

    const cancelled = await post(`${harness.baseUrl}/jobs/${jobId}/cancel`, {}, token('manager'));
    expect(cancelled.status).toBe(303);
    const ended = await harness.waitForJob(jobId, { headers: readAs });
    expect(ended['state']).toBe('cancelled');
    expect(ended['error']).toMatchObject({ message: 'Cancelled by marc.dubois@studio.example (manager)' });
    for (const farmJob of mine) {
      expect(['cancel-requested', 'canceled']).toContain(flamenco.state.jobs.get(farmJob)?.status);
    }
    // Nothing lost: the page still shows who cancelled and the farm links.
    const page = await statusPage(sent.location);
    expect(page).toContain('Cancelled by marc.dubois@studio.example (manager)');
    for (const farmJob of mine) expect(page).toContain(`href="${flamenco.url}/app/jobs/${farmJob}"`);
  });

  it('Afanasy: the same selection renders on CGRU end to end', async () => {
    runFarms();
    const sent = await request('render-cgru', lighting);
    const jobId = sent.location.split('/').pop() ?? '';
    const ended = await harness.waitForJob(jobId, { headers: readAs });
    stopFarms();
    expect(ended['state']).toBe('completed');
    const submissions = submissionsOf(jobId, afanasy.state.submissions);
    expect(submissions).toHaveLength(3);
    expect(submissions.map((s) => (s.job['blocks'] as { frame_first: number }[])[0]?.frame_first)).toEqual([
      1001, 1001, 1001,
    ]);
  });
});

describe('receiver start-up', () => {
  it('refuses to start with a render action whose farm is not configured, naming the setting', async () => {
    const receiver = spawnService('apps/receiver/src/main.ts', {
      REDIS_URL: inject('redisUrl'),
      PORT: String(await freePort()),
      ACTIONS_FILE: catalogue.file,
      FLAMENCO_URL: 'http://flamenco.studio.example:8080',
    });
    expect(await receiver.exited).toBe(78);
    expect(receiver.output()).toContain('(kind render.cgru) needs AFANASY_HOST, which is not set');
    expect(receiver.output()).not.toContain('needs FLAMENCO_URL');
  });
});
