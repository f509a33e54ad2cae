import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, JobData, loadConfig } from '@kitsu-actions/shared';
import { redactor } from './raw-request.ts';
import type { FakeZou } from '@kitsu-actions/testing';
import { kitsuOrigin, startTokenReceiver, startZouReceiver, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

async function storedJob(
  harness: ReceiverHarness,
  response: Response,
): Promise<{ text: string; data: JobData }> {
  const jobId = response.headers.get('location')?.split('/').pop() ?? '';
  const found = await harness.queues.find(jobId);
  if (!found) throw new Error(`no job ${jobId} (answer ${response.status})`);
  return { text: JSON.stringify(found.job.data), data: JobData.parse(found.job.data) };
}

describe('secrets are never stored with a job', () => {
  describe('AUTH_MODE=token', () => {
    // `+`, `/` and `=` change spelling in a URL, a form and JSON: every spelling must go.
    const secret = 'a+shared/secret=for-tests-only';
    let harness: ReceiverHarness;
    beforeAll(async () => {
      harness = await startTokenReceiver({ redisUrl: inject('redisUrl'), secret });
    });
    afterAll(() => harness.close());

    it('not in the URL, in any header, in the body or in the fields', async () => {
      const encoded = encodeURIComponent(secret);
      const form = new URLSearchParams({
        personid: person,
        selection: task,
        token: secret,
        note: `the token is ${secret}`,
      }).toString();
      const response = await fetch(`${harness.baseUrl}/actions/debug?token=${encoded}&t=${encoded}&x=1`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-Kitsu-Actions-Token': secret,
          Referer: `${kitsuOrigin}/productions?token=${encoded}`,
          'X-Original-Uri': `/kitsu-actions/actions/debug?token=${secret}`,
          'X-Debug': `Bearer ${secret}`,
        },
        body: form,
      });
      expect(response.status).toBe(202);
      const jobId = ((await response.json()) as { jobId: string }).jobId;
      const found = await harness.queues.find(jobId);
      const text = JSON.stringify(found?.job.data);
      for (const spelling of [secret, encoded, new URLSearchParams({ s: secret }).toString().slice(2)]) {
        expect(text).not.toContain(spelling);
      }
      const data = JobData.parse(found?.job.data);
      expect(data.raw?.url).toBe('/actions/debug?t=[redacted]&x=1');
      expect(data.raw?.headers['referer']).toBe(`${kitsuOrigin}/productions?token=[redacted]`);
      expect(data.raw?.headers['x-debug']).toBe('Bearer [redacted]');
      expect(data.raw?.fields).toEqual({
        personid: person,
        selection: task,
        note: 'the token is [redacted]',
      });
      expect(data.raw?.headers).not.toHaveProperty('x-kitsu-actions-token');
    });
  });

  describe('AUTH_MODE=zou-session', () => {
    let zou: FakeZou;
    let harness: ReceiverHarness;
    beforeAll(async () => {
      ({ zou, harness } = await startZouReceiver({ redisUrl: inject('redisUrl') }));
    });
    afterAll(() => harness.close());

    it('the session token, and any other Kitsu token, wherever the request carries it', async () => {
      const { ids } = zou.seed;
      const session = zou.control.issueToken(ids.persons.artist);
      const other = zou.control.issueToken(ids.persons.manager);
      const response = await fetch(`${harness.baseUrl}/actions/debug?jwt=${other}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'text/html',
          Origin: kitsuOrigin,
          Cookie: `access_token_cookie=${session}; refresh_token_cookie=${other}`,
          'X-Forwarded-Access-Token': session,
        },
        body: JSON.stringify({
          selection: [ids.tasks.layoutSh010],
          projectid: ids.projects.spf,
          entitytype: 'shot',
          originurl: `/productions/x/shots?access_token=${session}`,
          extra: { nested: [`token ${session}`] },
        }),
        redirect: 'manual',
      });
      expect(response.status).toBe(303);
      const { text, data } = await storedJob(harness, response);
      expect(text).not.toContain(session);
      expect(text).not.toContain(other);
      expect(data.raw?.headers['x-forwarded-access-token']).toBe('[redacted]');
      expect(data.raw?.url).toBe('/actions/debug?jwt=[redacted]');
      expect(data.raw?.fields['extra']).toEqual({ nested: ['token [redacted]'] });
      expect(data.raw?.body).toContain('"token [redacted]"');
      expect(data.request.origin.path).toBe('/productions/x/shots?access_token=[redacted]');
    });
  });

  it('redacts a secret in every spelling, and leaves short or unrelated text alone', () => {
    const redact = redactor(['s3cr3t+value/with=signs', 'short']);
    expect(redact('a=s3cr3t%2Bvalue%2Fwith%3Dsigns&b=s3cr3t+value/with=signs')).toBe(
      'a=[redacted]&b=[redacted]',
    );
    expect(redact('short and sweet')).toBe('short and sweet');
    expect(redact('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln and more')).toBe('[redacted] and more');
  });
});

describe('configuration errors never show a secret', () => {
  function problemsOf(env: Record<string, string>): string {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error('expected the configuration to be refused');
  }

  it('ACTIONS_TOKEN and KITSU_BOT_TOKEN are named, their values are not shown', () => {
    const shortSecret = 'hunter2-secret';
    const notAJwt = 'my-bot-token-pasted-wrong';
    const message = problemsOf({
      AUTH_MODE: 'token',
      ACTIONS_TOKEN: shortSecret,
      KITSU_URL: 'https://kitsu.studio.example/api',
      KITSU_BOT_TOKEN: notAJwt,
    });
    expect(message).toMatch(/ACTIONS_TOKEN: use at least 16 characters .*\(value not shown: 14 characters\)/);
    expect(message).toMatch(
      /KITSU_BOT_TOKEN: expected a Kitsu bot token \(a JWT\) \(value not shown: 25 characters\)/,
    );
    expect(message).not.toContain(shortSecret);
    expect(message).not.toContain(notAJwt);
  });

  it("a URL's password is masked, the rest of the value still shown", () => {
    const message = problemsOf({ REDIS_URL: 'http://queue:pa55word@redis:6379' });
    expect(message).toContain('(got "http://queue:***@redis:6379")');
    expect(message).not.toContain('pa55word');
  });
});
