import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kitsuOrigin, startReceiver, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const project = 'fa4d7f04-b8e0-4518-8dbc-2f24997ca76e';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';
const script = '<script>alert(1)</script>';

describe('pages and listings', () => {
  let harness: ReceiverHarness;
  beforeAll(async () => {
    harness = await startReceiver({ redisUrl: inject('redisUrl'), env: { DEDUP_WINDOW_MS: '0' } });
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(() => harness.close());

  it('escapes a <script> placed in any request field, on the status page and on the debug page', async () => {
    const fields = {
      personid: person,
      personemail: `${script}@example.com`,
      projectid: project,
      currentpath: `/productions/${script}`,
      currentserver: script,
      selection: task,
      entitytype: 'asset',
      [`extra${script}`]: script,
    };
    const response = await fetch(`${harness.baseUrl}/actions/debug?note=${encodeURIComponent(script)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html', 'X-Note': script },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    const statusUrl = response.headers.get('location') ?? '';
    const jobId = statusUrl.split('/').pop() ?? '';
    expect((await harness.waitForJob(jobId))['state']).toBe('completed');

    const status = await (await fetch(statusUrl, { headers: { Accept: 'text/html' } })).text();
    const debug = await (await fetch(`${statusUrl}/result`)).text();
    for (const text of [status, debug]) {
      expect(text.toLowerCase()).not.toContain('<script');
    }
    expect(status).toContain('&lt;script&gt;alert(1)&lt;/script&gt;@example.com');
    // Every field, header and the query reach the debug page, escaped.
    expect(debug.match(/&lt;script&gt;alert\(1\)&lt;\/script&gt;/g)?.length).toBeGreaterThanOrEqual(6);
    expect(debug).toContain(
      '<th>extra&lt;script&gt;alert(1)&lt;/script&gt; <span class="muted">(extra, not used)</span></th>',
    );
  });

  it('the status page of a running job refreshes itself; JSON is served to API clients', async () => {
    const response = await fetch(`${harness.baseUrl}/actions/render-flamenco`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userid: person, selection: [task], entitytype: 'shot' }),
    });
    const { jobId } = (await response.json()) as { jobId: string };
    const view = await harness.waitForJob(jobId);
    expect(view).toMatchObject({
      id: jobId,
      actionId: 'render-flamenco',
      actionName: 'Render on Flamenco',
      kind: 'debug',
      state: 'completed',
      requestedBy: { personId: person },
      taskIds: [task],
      // Absolute, from PUBLIC_URL (issue 10, item 11).
      result: { type: 'page', href: `${harness.baseUrl}/jobs/${jobId}/result` },
    });
    expect(typeof view['finishedAt']).toBe('string');
  });

  it('a queued job shows a page that refreshes until it ends', async () => {
    const blocked = await startReceiver({ redisUrl: inject('redisUrl') }); // no worker: stays queued
    try {
      const response = await fetch(`${blocked.baseUrl}/actions/debug`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userid: person, selection: [task] }),
      });
      const { statusUrl } = (await response.json()) as { statusUrl: string };
      const page = await (await fetch(statusUrl, { headers: { Accept: 'text/html' } })).text();
      expect(page).toMatch(/<meta http-equiv="refresh" content="2"\s*\/?>/);
      expect(page).toContain('Queued');
      const result = await fetch(`${statusUrl}/result`);
      expect(result.status).toBe(404);
      expect(((await result.json()) as { error: { message: string } }).error.message).toMatch(/is queued/);
    } finally {
      await blocked.close();
    }
  });

  it('unknown jobs are 404 with a reason', async () => {
    for (const id of ['pages-00000000-0000-4000-8000-000000000000', 'nonsense']) {
      const response = await fetch(`${harness.baseUrl}/jobs/${id}`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unknown_job');
    }
  });

  it('lists recent jobs, newest first, filtered and paginated', async () => {
    const other = '2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1';
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await fetch(`${harness.baseUrl}/actions/debug`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userid: other, selection: [task] }),
      });
      ids.push(((await response.json()) as { jobId: string }).jobId);
    }
    for (const id of ids) await harness.waitForJob(id);
    const list = (await (await fetch(`${harness.baseUrl}/jobs?person=${other}&perPage=2`)).json()) as {
      jobs: Array<{ id: string; requestedBy: { personId: string } }>;
      total: number;
      pages: number;
    };
    expect(list.total).toBe(3);
    expect(list.pages).toBe(2);
    expect(list.jobs.map((job) => job.id)).toEqual([ids[2], ids[1]]);
    const second = (await (
      await fetch(`${harness.baseUrl}/jobs?person=${other}&perPage=2&page=2`)
    ).json()) as {
      jobs: Array<{ id: string }>;
    };
    expect(second.jobs.map((job) => job.id)).toEqual([ids[0]]);
    const failed = (await (await fetch(`${harness.baseUrl}/jobs?state=failed&person=${other}`)).json()) as {
      total: number;
    };
    expect(failed.total).toBe(0);
    const bad = await fetch(`${harness.baseUrl}/jobs?state=exploded`);
    expect(bad.status).toBe(400);
    const html = await fetch(`${harness.baseUrl}/jobs?action=debug`, { headers: { Accept: 'text/html' } });
    expect(await html.text()).toContain('Recent jobs');
  });

  it('lists the catalogue with the URL to register in Kitsu', async () => {
    const body = (await (await fetch(`${harness.baseUrl}/actions`)).json()) as {
      actions: Array<Record<string, unknown>>;
    };
    expect(body.actions).toContainEqual({
      id: 'debug',
      name: 'Debug selection',
      kind: 'debug',
      entityType: 'all',
      ajax: false,
      method: 'post',
      url: `${harness.baseUrl}/actions/debug`,
    });
  });

  it('answers CORS only for the configured Kitsu origin', async () => {
    const preflight = (origin: string): Promise<Response> =>
      fetch(`${harness.baseUrl}/actions/debug`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type',
        },
      });
    const allowed = await preflight(kitsuOrigin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(kitsuOrigin);
    const foreign = await preflight('https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(foreign.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('is ready while Redis answers', async () => {
    const ready = await fetch(`${harness.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: 'ok' });
  });
});
