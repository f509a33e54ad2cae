import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FakeZou } from '@kitsu-actions/testing';
import { zouShareOfRequest } from './authorization.ts';
import { kitsuOrigin, startZouReceiver, type ReceiverHarness } from '../test/harness.ts';

// Issue 10, item 6 (its fan-out part): what one request can make the receiver ask of Kitsu.

describe('what one request costs Kitsu (AUTH_MODE=zou-session)', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  const calls = (path: string | RegExp): number => zou.control.requests({ path }).length;
  const post = async (
    fields: Record<string, string>,
    cookie: string,
  ): Promise<{ status: number; error?: { code: string; message: string } }> => {
    const response = await fetch(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
        Cookie: `access_token_cookie=${cookie}`,
        Origin: kitsuOrigin,
      },
      body: new URLSearchParams(fields).toString(),
    });
    const body = (await response.json()) as { error?: { code: string; message: string } };
    return { status: response.status, ...(body.error === undefined ? {} : { error: body.error }) };
  };

  beforeAll(async () => {
    // A Kitsu of its own (no worker reads it meanwhile): every call it logs is this receiver's.
    // Big Show (600 tasks, 6 pages of Zou's project task list) for the large-selection case.
    ({ zou, harness } = await startZouReceiver({
      redisUrl: inject('redisUrl'),
      zou: { bigProject: { tasks: 600 } },
      env: { RATE_LIMIT_PER_ADDRESS: '0', RATE_LIMIT_PER_PERSON: '0' },
    }));
  });
  afterAll(() => harness.close());

  it('a refused session sent again and again costs Kitsu one call; an expired one, none', async () => {
    const real = zou.control.issueToken(zou.seed.ids.persons.artist);
    const [header, payload] = real.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    const fields = { personid: zou.seed.ids.persons.artist, selection: zou.seed.ids.tasks.layoutSh010 };
    const before = calls('/auth/authenticated');
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(fields, forged)));
    // Then one after the other: the refusal is remembered, not only shared while in flight.
    for (let index = 0; index < 50; index += 1) answers.push(await post(fields, forged));
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([401]));
    expect(answers.at(-1)?.error).toMatchObject({ code: 'session_refused' });
    expect(answers.at(-1)?.error?.message).toMatch(/Signature verification failed/);
    // Those at once share the question; those after have the answer.
    expect(calls('/auth/authenticated') - before).toBe(1);

    const expired = Array.from({ length: 20 }, () =>
      zou.control.issueToken(zou.seed.ids.persons.artist, { ttlMs: -1000 }),
    );
    const beforeExpired = calls('/auth/authenticated');
    for (const token of expired) expect((await post(fields, token)).status).toBe(401);
    expect(calls('/auth/authenticated')).toBe(beforeExpired);
    // A good session still gets through.
    expect((await post(fields, real)).status).toBe(202);
  });

  it('a selection of 5,000 unknown tasks is refused at the first, with a handful of Zou calls', async () => {
    const unknown = Array.from({ length: 5000 }, () => randomUUID());
    const taskReads = (): number => calls(/^\/data\/tasks\/[^/]+$/);
    const before = taskReads();
    const sent = await post(
      {
        personid: zou.seed.ids.persons.supervisor,
        projectid: zou.seed.ids.projects.spf,
        selection: unknown.join(','),
      },
      zou.control.issueToken(zou.seed.ids.persons.supervisor),
    );
    expect(sent.status).toBe(400);
    expect(sent.error?.code).toBe('unknown_tasks');
    expect(unknown.some((id) => sent.error?.message.includes(id) === true)).toBe(true);
    // The lanes under way when the first answer came back, no more.
    expect(taskReads() - before).toBeLessThanOrEqual(zouShareOfRequest);
  });

  it("one request never holds more than its share of the bot's Zou calls", async () => {
    // 40 tasks: read one by one (below the production-list threshold), each answer slowed down.
    const tasks = zou.seed.ids.tasks.spf.slice(0, 40);
    const cookie = zou.control.issueToken(zou.seed.ids.persons.supervisor);
    // The session is looked up first, alone; it is not what is measured.
    expect(
      (await post({ personid: zou.seed.ids.persons.supervisor, selection: tasks[0] ?? '' }, cookie)).status,
    ).toBe(202);
    zou.control.slow(20, { method: 'GET', path: /^\/data\/tasks\// });
    zou.control.resetConcurrency();
    try {
      const sent = await post(
        { personid: zou.seed.ids.persons.supervisor, selection: tasks.join(',') },
        cookie,
      );
      expect(sent.status).toBe(202);
    } finally {
      zou.control.clearFaults();
    }
    expect(zou.control.concurrency().max).toBeLessThanOrEqual(zouShareOfRequest);
    expect(zouShareOfRequest).toBeLessThan(8);
  });

  it("a large selection reads its production's task pages within the same share", async () => {
    const big = zou.seed.ids.projects.big ?? '';
    // 60 tasks: past the threshold, so read from Big Show's paged task list (6 pages) instead.
    const tasks = zou.seed.ids.tasks.big.slice(0, 60);
    expect(tasks).toHaveLength(60);
    const cookie = zou.control.issueToken(zou.seed.ids.persons.manager);
    expect(
      (await post({ personid: zou.seed.ids.persons.manager, selection: tasks[0] ?? '' }, cookie)).status,
    ).toBe(202);
    zou.control.slow(20, { method: 'GET', path: /^\/data\/projects\/[^/]+\/tasks/ });
    zou.control.resetConcurrency();
    const pagesBefore = calls(`/data/projects/${big}/tasks`);
    try {
      const sent = await post(
        { personid: zou.seed.ids.persons.manager, projectid: big, selection: tasks.join(',') },
        cookie,
      );
      expect(sent.status).toBe(202);
    } finally {
      zou.control.clearFaults();
    }
    expect(calls(`/data/projects/${big}/tasks`) - pagesBefore).toBe(6);
    expect(zou.control.concurrency().max).toBeLessThanOrEqual(zouShareOfRequest);
  });
});
