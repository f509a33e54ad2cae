import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kitsuFixture, kitsuFixtures, replay } from '@kitsu-actions/testing';
import { JobData } from '@kitsu-actions/shared';
import { kitsuOrigin, startReceiver, testCatalogueYaml, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const project = 'fa4d7f04-b8e0-4518-8dbc-2f24997ca76e';
const tasks = [
  '95c171e1-dfff-498f-93e3-548a739e3202',
  '0b7e3c1a-5f7d-4b43-9a51-2c9f0c8d1e11',
  'c3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012',
];

/**
 * What each recorded Kitsu request must get; for accepted ones the normalized request and whether the
 * answer carries CORS headers for Kitsu (the fixtures Kitsu's browser sent with its Origin).
 */
const expected: Record<
  string,
  { status: number; request?: Record<string, unknown>; message?: RegExp; cors?: boolean }
> = {
  'ajax-empty-selection': {
    status: 400,
    message: /Select at least one task before running "Render on Flamenco"/,
  },
  'ajax-preflight': { status: 204 },
  'ajax-shots': {
    status: 202,
    cors: true,
    request: {
      actionId: 'render-flamenco',
      personId: person,
      personEmail: 'admin@example.com',
      projectId: project,
      taskIds: tasks,
      entityType: 'shot',
      mode: 'ajax',
      origin: { server: 'kitsu.studio.example', path: `/productions/${project}/shots` },
    },
  },
  'doc-example-json': {
    status: 202,
    request: {
      actionId: 'debug',
      personId: person,
      personEmail: 'admin@example.com',
      projectId: project,
      taskIds: [tasks[0]],
      entityType: 'asset',
      mode: 'ajax',
      origin: { server: 'localhost', path: `/productions/${project}/assets` },
    },
  },
  'form-assets': {
    status: 303,
    cors: true,
    request: {
      actionId: 'debug',
      personId: person,
      personEmail: 'admin@example.com',
      projectId: project,
      taskIds: tasks.slice(0, 2),
      entityType: 'asset',
      mode: 'form',
      origin: { server: 'kitsu.studio.example', path: `/productions/${project}/assets` },
    },
  },
  'get-query': {
    status: 303,
    request: {
      actionId: 'debug',
      personId: person,
      projectId: project,
      taskIds: tasks,
      entityType: 'shot',
      mode: 'get',
      origin: { server: 'kitsu.studio.example', path: `/productions/${project}/shots` },
    },
  },
};

describe('Kitsu requests replayed byte for byte', () => {
  let harness: ReceiverHarness;
  beforeAll(async () => {
    // No dedup window: fixtures are replayed more than once. The GET fixture runs `debug` by its query
    // string, which only a `method: get` action serves.
    harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { DEDUP_WINDOW_MS: '0' },
      catalogueYaml: testCatalogueYaml.replace('kind: debug }', 'kind: debug, method: get }'),
    });
    const worker = harness.startWorker();
    await worker.waitFor(/workers ready/);
  });
  afterAll(() => harness.close());

  it('covers every recorded fixture', () => {
    expect(
      kitsuFixtures()
        .map((fixture) => fixture.name)
        .sort(),
    ).toEqual(Object.keys(expected).sort());
  });

  for (const fixture of kitsuFixtures()) {
    it(`${fixture.name}: ${fixture.about}`, async () => {
      const want = expected[fixture.name];
      if (!want) throw new Error(`no expectation for fixture ${fixture.name}`);
      const before = await harness.jobCount();
      const response = await replay(harness.baseUrl, fixture);
      expect(response.status).toBe(want.status);

      if (want.status >= 400) {
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.message).toMatch(want.message ?? /./);
        expect(await harness.jobCount()).toBe(before);
        return;
      }
      if (want.status === 204) {
        expect(response.headers.get('access-control-allow-origin')).toBe(kitsuOrigin);
        expect(response.headers.get('access-control-allow-credentials')).toBe('true');
        expect(response.headers.get('access-control-allow-methods')).toContain('POST');
        expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
        expect(await harness.jobCount()).toBe(before);
        return;
      }

      let jobId: string;
      const location = response.headers.get('location') ?? '';
      if (want.status === 202) {
        const body = (await response.json()) as { jobId: string; state: string; statusUrl: string };
        jobId = body.jobId;
        expect(body.state).toBe('queued');
        expect(body.statusUrl).toBe(`${harness.baseUrl}/jobs/${jobId}`);
        expect(location).toBe(body.statusUrl);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      } else {
        expect(location).toMatch(new RegExp(`^${harness.baseUrl}/jobs/pages-[0-9a-f-]{36}$`));
        jobId = location.split('/').pop() ?? '';
      }
      expect(response.headers.get('access-control-allow-origin')).toBe(
        want.cors === true ? kitsuOrigin : null,
      );
      expect(await harness.jobCount()).toBe(before + 1);

      const view = await harness.waitForJob(jobId);
      expect(view['state']).toBe('completed');
      const taskCount = (want.request?.['taskIds'] as unknown[]).length;
      expect(view['progress']).toEqual({
        percent: 100,
        message: `${taskCount} ${taskCount === 1 ? 'task' : 'tasks'} (${String(want.request?.['entityType'])}) from ${String(want.request?.['personEmail'] ?? want.request?.['personId'])}`,
      });
      const found = await harness.queues.find(jobId);
      const data = JobData.parse(found?.job.data);
      expect(data.request).toMatchObject(want.request ?? {});
      expect(data.request.taskIds).toEqual(want.request?.['taskIds']);
      if (!('personEmail' in (want.request ?? {}))) expect(data.request).not.toHaveProperty('personEmail');
      // Credentials are used at the edge, never stored with the job.
      expect(Object.keys(data.raw?.headers ?? {})).not.toContain('cookie');
      expect(JSON.stringify(data)).not.toContain('access_token_cookie');
    });
  }

  it('get-query against an action without method: get is 405 and queues nothing', async () => {
    const plain = await startReceiver({ redisUrl: inject('redisUrl') });
    try {
      const response = await replay(plain.baseUrl, kitsuFixture('get-query'));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST, OPTIONS');
      expect(await plain.jobCount()).toBe(0);
    } finally {
      await plain.close();
    }
  });

  it('form-assets: the 303 leads to a status page that reaches "completed" and links the debug result', async () => {
    const response = await replay(harness.baseUrl, kitsuFixture('form-assets'));
    expect(response.status).toBe(303);
    const statusUrl = response.headers.get('location') ?? '';
    await harness.waitForJob(statusUrl.split('/').pop() ?? '');
    const page = await fetch(statusUrl, { headers: { Accept: 'text/html' } });
    expect(page.headers.get('content-type')).toContain('text/html');
    const text = await page.text();
    // The state as the JSON and ?state= name it (issue 10, item 12: one vocabulary).
    expect(text).toContain('<span class="state state-completed">completed</span>');
    expect(text).not.toContain('http-equiv="refresh"');
    expect(text).toContain(`${statusUrl}/result`);
    const result = await fetch(`${statusUrl}/result`);
    expect(result.status).toBe(200);
    expect(result.headers.get('content-security-policy')).toContain("default-src 'none'");
    const debug = await result.text();
    for (const field of [
      'personid',
      'projectid',
      'currentpath',
      'currentserver',
      'selection',
      'entitytype',
    ]) {
      expect(debug).toContain(`<th>${field}</th>`);
    }
    expect(debug).toContain('admin@example.com');
    expect(debug).toContain(tasks[1]);
    expect(debug).not.toContain('access_token_cookie');
  });
});
