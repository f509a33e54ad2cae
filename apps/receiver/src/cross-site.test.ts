import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { FakeZou } from '@kitsu-actions/testing';
import { kitsuOrigin, startZouReceiver, type ReceiverHarness } from '../test/harness.ts';

const catalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug }
  - { id: by-link, name: Debug by link, kind: debug, method: get }
`;

const evil = 'https://evil.example';

describe('cross-site requests (AUTH_MODE=zou-session)', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let fields: Record<string, string>;
  let cookie: () => string;

  // A receiver per test: what the router sets up as it is built is part of every test (mutation testing
  // counts coverage per test).
  beforeEach(async () => {
    ({ zou, harness } = await startZouReceiver({ redisUrl: inject('redisUrl'), catalogueYaml }));
    const { ids } = zou.seed;
    fields = { projectid: ids.projects.spf, selection: ids.tasks.layoutSh010, entitytype: 'shot' };
    cookie = () => `access_token_cookie=${zou.control.issueToken(ids.persons.artist)}`;
  });
  afterEach(() => harness.close());

  async function post(headers: Record<string, string>, action = 'debug'): Promise<Response> {
    return fetch(`${harness.baseUrl}/actions/${action}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async function get(action: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${harness.baseUrl}/actions/${action}?${new URLSearchParams(fields).toString()}`, {
      headers: { Accept: 'application/json', ...headers },
      redirect: 'manual',
    });
  }

  async function refusal(response: Response): Promise<{ status: number; code: string; message: string }> {
    const body = (await response.json()) as { error: { code: string; message: string } };
    return { status: response.status, ...body.error };
  }

  it('a cross-site GET with the session cookie starts nothing: GET is only for method: get actions', async () => {
    const before = await harness.jobCount();
    const answer = await get('debug', { Cookie: cookie(), 'Sec-Fetch-Site': 'cross-site' });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST, OPTIONS');
    expect(await harness.jobCount()).toBe(before);
  });

  it('Sec-Fetch-Site: cross-site is refused with the cookie, even on a method: get action', async () => {
    const before = await harness.jobCount();
    expect(
      await refusal(await get('by-link', { Cookie: cookie(), 'Sec-Fetch-Site': 'cross-site' })),
    ).toMatchObject({
      status: 403,
      code: 'cross_site_request',
      message: expect.stringMatching(/Sec-Fetch-Site: cross-site/) as string,
    });
    expect(await refusal(await post({ Cookie: cookie(), 'Sec-Fetch-Site': 'cross-site' }))).toMatchObject({
      status: 403,
      code: 'cross_site_request',
    });
    expect(await harness.jobCount()).toBe(before);
  });

  it('without Origin, the Referer decides', async () => {
    const before = await harness.jobCount();
    const forged = await post({ Cookie: cookie(), Referer: `${evil}/page?x=1` });
    expect(await refusal(forged)).toMatchObject({
      status: 403,
      code: 'cross_site_request',
      message: expect.stringContaining('a page of https://evil.example') as string,
    });
    expect(await harness.jobCount()).toBe(before);
    const fromKitsu = await post({ Cookie: cookie(), Referer: `${kitsuOrigin}/productions/x/shots` });
    expect(fromKitsu.status).toBe(202);
    // An Origin, when there is one, is what counts.
    const both = await post({ Cookie: cookie(), Origin: evil, Referer: `${kitsuOrigin}/productions` });
    expect(both.status).toBe(403);
  });

  it('a cookie-authenticated POST with neither Origin nor Referer is refused; a bearer one is not', async () => {
    const before = await harness.jobCount();
    expect(await refusal(await post({ Cookie: cookie() }))).toMatchObject({
      status: 403,
      code: 'origin_required',
      message: expect.stringMatching(/neither Origin nor Referer/) as string,
    });
    expect(await harness.jobCount()).toBe(before);
    const bearer = await post({
      Authorization: `Bearer ${zou.control.issueToken(zou.seed.ids.persons.artist)}`,
    });
    expect(bearer.status).toBe(202);
  });

  it('a Referer that is not a URL is refused, quoted; an empty session cookie is no session at all', async () => {
    const garbled = await post({ Cookie: cookie(), Referer: 'not a url at all' });
    expect(await refusal(garbled)).toMatchObject({
      status: 403,
      code: 'cross_site_request',
      message: expect.stringContaining('a page of not a url at all,') as string,
    });
    const none = await refusal(await post({}));
    const empty = await refusal(await post({ Cookie: 'access_token_cookie=' }));
    expect(none.status).toBe(401);
    expect(empty).toEqual(none);
    // So a bearer token sent beside it is the session, and no cookie rule applies.
    const bearer = zou.control.issueToken(zou.seed.ids.persons.artist);
    const withBearer = await post({ Cookie: 'access_token_cookie=', Authorization: `Bearer ${bearer}` });
    expect(withBearer.status).toBe(202);
  });

  it('a cancel with the cookie follows the same rules', async () => {
    const accepted = (await (await post({ Cookie: cookie(), Origin: kitsuOrigin })).json()) as {
      jobId: string;
    };
    const cancel = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${harness.baseUrl}/jobs/${accepted.jobId}/cancel`, {
        method: 'POST',
        headers: { Accept: 'application/json', Cookie: cookie(), ...headers },
      });
    expect((await cancel({})).status).toBe(403);
    expect((await cancel({ Referer: `${evil}/` })).status).toBe(403);
    expect((await cancel({ 'Sec-Fetch-Site': 'cross-site', Origin: kitsuOrigin })).status).toBe(403);
    expect((await cancel({ Origin: kitsuOrigin, 'Sec-Fetch-Site': 'same-origin' })).status).toBe(202);
  });

  it('reads change nothing: a job, the job list and the result link open from any site with the cookie', async () => {
    const accepted = (await (await post({ Cookie: cookie(), Origin: kitsuOrigin })).json()) as {
      jobId: string;
    };
    const read = (path: string): Promise<Response> =>
      fetch(`${harness.baseUrl}${path}`, {
        headers: {
          Accept: 'application/json',
          Cookie: cookie(),
          'Sec-Fetch-Site': 'cross-site',
          Referer: `${evil}/`,
        },
      });
    const job = await read(`/jobs/${accepted.jobId}`);
    expect(job.status).toBe(200);
    expect(((await job.json()) as { id: string }).id).toBe(accepted.jobId);
    const list = await read('/jobs');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { jobs: Array<{ id: string }> }).jobs.map((entry) => entry.id)).toContain(
      accepted.jobId,
    );
    // A debug job has no result page: a 404 that says so, not a cross-site refusal.
    const result = await read(`/jobs/${accepted.jobId}/result`);
    expect(result.status).toBe(404);
    expect(((await result.json()) as { error: { code: string } }).error.code).toBe('no_result_page');
  });

  it('a method: get action opened from Kitsu, or typed in, runs', async () => {
    const fromKitsu = await get('by-link', {
      Cookie: cookie(),
      'Sec-Fetch-Site': 'same-origin',
      Referer: `${kitsuOrigin}/productions/x/shots`,
    });
    expect(fromKitsu.status).toBe(202);
    const typed = await get('by-link', { Cookie: cookie(), 'Sec-Fetch-Site': 'none' });
    expect(typed.status).toBe(202);
  });

  it('GET /actions says how each action is reached', async () => {
    const listing = (await (await fetch(`${harness.baseUrl}/actions`)).json()) as {
      actions: Array<{ id: string; method: string }>;
    };
    expect(listing.actions.map(({ id, method }) => ({ id, method }))).toEqual([
      { id: 'debug', method: 'post' },
      { id: 'by-link', method: 'get' },
    ]);
  });
});
